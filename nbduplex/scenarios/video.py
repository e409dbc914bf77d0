"""Procedural video for scenarios: a plain scene, objects that appear, objects that jump.

Frame i of micro-turn k (with `per_turn` frames per micro-turn) shows the scene at time
t_k + (i + 1) * 0.2 / per_turn: the moment it was captured, at the end of its slice. An object
that appears at t is therefore visible in every frame captured at or after t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nbduplex.microturn import MICROTURN_S

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 215, 40),
    "magenta": (210, 50, 200),
    "cyan": (40, 200, 210),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
}
SHAPES = ("circle", "square", "triangle")


@dataclass
class SceneObject:
    """A shape in the scene, visible from `t_from`; it jumps `jumps` times from `jump_t0`."""

    shape: str
    color: str
    x: float  # centre, fraction of width
    y: float  # centre at rest, fraction of height
    size: float  # fraction of height
    t_from: float = 0.0  # s, appears
    jump_t0: float = 0.0  # s, first take-off
    jump_period: float = 0.0  # s, 0 = never jumps
    jumps: int = 0
    jump_height: float = 0.35  # fraction of height

    def centre(self, t: float) -> tuple[float, float]:
        """(x, y) fractions at time t (a jump is half a sine: up and back down)."""
        y = self.y
        if (
            self.jump_period > 0
            and self.jump_t0 <= t < self.jump_t0 + self.jumps * self.jump_period
        ):
            phase = ((t - self.jump_t0) % self.jump_period) / self.jump_period
            y -= self.jump_height * np.sin(np.pi * phase)
        return self.x, y


def _draw(img: np.ndarray, obj: SceneObject, t: float, yy: np.ndarray, xx: np.ndarray) -> None:
    h, w = img.shape[:2]
    cx, cy = obj.centre(t)
    cx, cy, r = cx * w, cy * h, obj.size * h / 2
    if obj.shape == "circle":
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    elif obj.shape == "square":
        mask = (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
    elif obj.shape == "triangle":
        mask = (yy <= cy + r) & (yy >= cy - r) & (np.abs(xx - cx) <= (yy - (cy - r)) / 2)
    else:
        raise ValueError(f"unknown shape {obj.shape!r}; choose one of {SHAPES}")
    img[mask] = COLORS[obj.color]


def render_frames(
    objects: list[SceneObject],
    n_turns: int,
    rng: np.random.Generator,
    *,
    size: tuple[int, int] = (128, 96),  # (W, H) pixels
    per_turn: int = 1,  # frames per micro-turn
    background: tuple[int, int, int] | None = None,
    noise: float = 3.0,  # std of per-pixel sensor noise, in 8-bit levels
) -> list[list[np.ndarray]]:
    """Frames per micro-turn: n_turns lists of `per_turn` (H, W, 3) uint8 RGB arrays."""
    w, h = size
    if per_turn <= 0:
        return [[] for _ in range(n_turns)]
    bg = np.array(background or rng.integers(30, 110, 3), np.float32)
    grad = np.linspace(0.85, 1.15, h, dtype=np.float32)[:, None, None]  # (H, 1, 1)
    base = np.clip(np.broadcast_to(bg, (h, w, 3)) * grad, 0, 255).astype(np.uint8)  # (H, W, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    seed = int(rng.integers(2**31))
    out: list[list[np.ndarray]] = []
    for k in range(n_turns):
        frames = []
        for i in range(per_turn):
            t = k * MICROTURN_S + (i + 1) * MICROTURN_S / per_turn
            img = base.copy()
            for obj in objects:
                if t >= obj.t_from:
                    _draw(img, obj, t, yy, xx)
            if noise > 0:
                g = np.random.default_rng((seed, k, i))
                img = np.clip(img + g.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
            frames.append(img)
        out.append(frames)
    return out
