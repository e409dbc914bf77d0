"""What the interaction model sees per micro-turn, as batched tensors.

`TurnInputs` holds B sessions x T micro-turns. `model(inputs)` runs a whole sequence;
`model.step(inputs)` takes T == 1 (one micro-turn per session) inside `model.streaming(B)`.
Turning `MicroTurn`s into these tensors is `nbduplex.model.featurize`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from nbduplex.model.config import N_FRAMES, N_LEVELS, N_MELS, TEXT_PAD, TEXT_VOCAB, ModelConfig


@dataclass
class TurnInputs:
    """Batched model inputs for B sessions and T micro-turns."""

    codes: torch.Tensor  # (B, T, 16, 80) int64 dMel codes 0..15
    image: torch.Tensor  # (B, T, 3, S, S) float32 RGB in [0, 1], S = config.image_size
    has_image: torch.Tensor  # (B, T) bool, False -> the learned "no frame" token
    text: torch.Tensor  # (B, T, L) int64 text tokens (bytes, 256 = pad, 257.. role markers)
    speaking: torch.Tensor  # (B, T) float32 1.0 while the model's voice is audible
    t: torch.Tensor  # (B, T) float32 stream time in seconds of the micro-turn start
    since_text: torch.Tensor  # (B, T) float32 seconds since the last text event (clipped)

    @property
    def shape(self) -> tuple[int, int]:
        """(B, T)."""
        b, t = self.codes.shape[:2]
        return int(b), int(t)

    def to(self, device: torch.device | str) -> TurnInputs:
        """All tensors moved to `device`."""
        return TurnInputs(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def slice(self, start: int, stop: int) -> TurnInputs:
        """Micro-turns start..stop (time axis) of every session."""
        return TurnInputs(**{f.name: getattr(self, f.name)[:, start:stop] for f in fields(self)})

    def select(self, index: torch.Tensor | list[int] | slice) -> TurnInputs:
        """Some sessions (batch axis)."""
        return TurnInputs(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def cat(parts: list[TurnInputs], dim: int = 0) -> TurnInputs:
        """Concatenate along the batch (dim=0) or time (dim=1) axis."""
        return TurnInputs(
            **{
                f.name: torch.cat([getattr(p, f.name) for p in parts], dim)
                for f in fields(TurnInputs)
            }
        )

    def validate(self, config: ModelConfig) -> None:
        """Raise ValueError on shapes, dtypes or values the model cannot take."""
        b, t = self.shape
        s, n = config.image_size, config.max_text_bytes
        want = {
            "codes": (b, t, N_FRAMES, N_MELS),
            "image": (b, t, 3, s, s),
            "has_image": (b, t),
            "text": (b, t, n),
            "speaking": (b, t),
            "t": (b, t),
            "since_text": (b, t),
        }
        for name, shape in want.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise ValueError(f"TurnInputs.{name} has shape {got}, expected {shape}")
        if self.codes.dtype.is_floating_point or self.text.dtype.is_floating_point:
            raise ValueError("codes and text must be integer tensors")
        if self.codes.numel() and (self.codes.min() < 0 or self.codes.max() >= N_LEVELS):
            raise ValueError(f"dMel codes must be in 0..{N_LEVELS - 1}")
        if self.text.numel() and (self.text.min() < 0 or self.text.max() >= TEXT_VOCAB):
            raise ValueError(f"text tokens must be in 0..{TEXT_VOCAB - 1}")
        for name in ("image", "speaking", "t", "since_text"):
            if not torch.isfinite(getattr(self, name)).all():
                raise ValueError(f"TurnInputs.{name} has NaN or inf values")


def empty_inputs(config: ModelConfig, batch: int, turns: int) -> TurnInputs:
    """Silence, no frames, no text, not speaking, t = 0.2 * index (all-padding inputs)."""
    s, n = config.image_size, config.max_text_bytes
    t = (torch.arange(turns, dtype=torch.float32) * 0.2).expand(batch, turns).clone()
    return TurnInputs(
        codes=torch.zeros(batch, turns, N_FRAMES, N_MELS, dtype=torch.long),
        image=torch.zeros(batch, turns, 3, s, s),
        has_image=torch.zeros(batch, turns, dtype=torch.bool),
        text=torch.full((batch, turns, n), TEXT_PAD, dtype=torch.long),
        speaking=torch.zeros(batch, turns),
        t=t,
        since_text=torch.full((batch, turns), 60.0),
    )


def random_inputs(
    config: ModelConfig, batch: int, turns: int, generator: torch.Generator | None = None
) -> TurnInputs:
    """Random but valid inputs with every modality present (tests, benchmarks)."""
    g = generator
    s, n = config.image_size, config.max_text_bytes
    text = torch.randint(0, 256, (batch, turns, n), generator=g)
    keep = torch.randint(0, n + 1, (batch, turns, 1), generator=g)
    text = torch.where(torch.arange(n) < keep, text, torch.full_like(text, TEXT_PAD))
    text[..., 0] = torch.where(keep[..., 0] > 0, 257, TEXT_PAD)  # a user-role marker
    t0 = torch.rand(batch, 1, generator=g) * 100
    return TurnInputs(
        codes=torch.randint(0, N_LEVELS, (batch, turns, N_FRAMES, N_MELS), generator=g),
        image=torch.rand(batch, turns, 3, s, s, generator=g),
        has_image=torch.rand(batch, turns, generator=g) < 0.7,
        text=text,
        speaking=(torch.rand(batch, turns, generator=g) < 0.3).float(),
        t=t0 + torch.arange(turns) * 0.2,
        since_text=torch.rand(batch, turns, generator=g) * 30,
    )
