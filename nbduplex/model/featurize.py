"""MicroTurns -> model inputs: dMel codes, a downscaled frame, text tokens, time, speaking flag.

`Featurizer` is streaming (one `MicroTurn` at a time, exact streaming dMel); `encode_text`,
`downscale` and `since_text_series` are shared with the offline training-data builder, so a
policy in the session loop sees exactly what the model was trained on.
"""

from __future__ import annotations

import numpy as np
import torch

from nbduplex.microturn import MICROTURN_S, MicroTurn, TextEvent
from nbduplex.model.config import TEXT_PAD, ModelConfig
from nbduplex.model.inputs import TurnInputs

ROLES = ("user", "agent", "model", "system")  # role marker token = 257 + index
SINCE_TEXT_MAX = 60.0  # seconds; "no text yet" reads as this
INSTRUCTION_ROLES = frozenset({"user", "system"})  # text that restarts the since_text clock


def encode_text(events: tuple[TextEvent, ...] | list[TextEvent], max_bytes: int) -> np.ndarray:
    """Text events -> (max_bytes,) int64: [role marker, utf-8 bytes..] per event, then pads."""
    out = np.full(max_bytes, TEXT_PAD, dtype=np.int64)
    toks: list[int] = []
    for e in events:
        if not e.text:
            continue
        role = ROLES.index(e.role) if e.role in ROLES else ROLES.index("user")
        toks.append(257 + role)
        toks.extend(e.text.encode("utf-8"))
    toks = toks[:max_bytes]
    out[: len(toks)] = toks
    return out


def downscale(frame: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, size, size) float32 in [0, 1] by area averaging."""
    f = np.asarray(frame)
    if f.ndim != 3 or f.shape[2] != 3:
        raise ValueError(f"frames must be (H, W, 3) RGB, got shape {f.shape}")
    x = torch.from_numpy(np.ascontiguousarray(f)).permute(2, 0, 1)[None].float() / 255.0
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="area")
    return x[0].numpy()


class Featurizer:
    """Turns one session's MicroTurns, in order, into (1, 1) `TurnInputs` for `model.step`."""

    def __init__(self, config: ModelConfig) -> None:
        from nbduplex.features.dmel import StreamingDMel

        self.config = config
        self._dmel = StreamingDMel()
        self.reset()

    def reset(self) -> None:
        """Start a new session."""
        self._dmel.reset()
        self._last_text_t: float | None = None
        self._last_image: np.ndarray | None = None

    def __call__(self, turn: MicroTurn) -> TurnInputs:
        cfg = self.config
        codes = self._dmel.push(turn.audio)  # (16, 80) uint8
        if codes.shape[0] != 16:
            raise ValueError(f"micro-turn {turn.seq}: expected 16 dMel frames, got {codes.shape}")
        has_image = bool(turn.frames)
        image = (
            downscale(turn.frames[-1], cfg.image_size)
            if has_image
            else np.zeros((3, cfg.image_size, cfg.image_size), np.float32)
        )
        if any(e.role in INSTRUCTION_ROLES and e.text for e in turn.text):
            self._last_text_t = turn.t
        since = SINCE_TEXT_MAX if self._last_text_t is None else turn.t - self._last_text_t
        return TurnInputs(
            codes=torch.from_numpy(codes.astype(np.int64))[None, None],
            image=torch.from_numpy(image)[None, None],
            has_image=torch.tensor([[has_image]]),
            text=torch.from_numpy(encode_text(turn.text, cfg.max_text_bytes))[None, None],
            speaking=torch.tensor([[float(turn.model_speaking)]]),
            t=torch.tensor([[turn.t]], dtype=torch.float32),
            since_text=torch.tensor([[min(since, SINCE_TEXT_MAX)]], dtype=torch.float32),
        )


def since_text_series(text_turns: list[int], n_turns: int) -> np.ndarray:
    """(n_turns,) seconds since the last micro-turn in `text_turns` (instruction text)."""
    out = np.full(n_turns, SINCE_TEXT_MAX, np.float32)
    marks = sorted(set(k for k in text_turns if 0 <= k < n_turns))
    for i, k in enumerate(marks):
        stop = marks[i + 1] if i + 1 < len(marks) else n_turns
        out[k:stop] = np.minimum(np.arange(stop - k) * MICROTURN_S, SINCE_TEXT_MAX)
    return out
