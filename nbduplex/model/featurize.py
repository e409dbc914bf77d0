"""MicroTurns -> model inputs: dMel codes, a downscaled frame, text tokens, time, speaking flag.

`Featurizer` is streaming (one `MicroTurn` at a time, exact streaming dMel); `encode_text`,
`area_downscale`, `since_text_series` and `InstructionMemory` are shared with the offline
training-data builder, so a policy in the session loop sees exactly what the model was trained on.

Instruction reminder: the latest instruction (user or system text) is re-shown in the text of
every later micro-turn, after that micro-turn's own events, behind the "system" role marker
(260), for up to `SINCE_TEXT_MAX` seconds. So the decision token (the text+state token, which
the heads read) sees "say go in 5 seconds" together with the time since it was typed, and
needs no attention 25 micro-turns back (or past the KV window) to know what and when to say.
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


def encode_text(
    events: tuple[TextEvent, ...] | list[TextEvent], max_bytes: int, reminder: str = ""
) -> np.ndarray:
    """Text events -> (max_bytes,) int64: [role marker, utf-8 bytes..] per event, then the
    reminder as [260, bytes..] (see the module docstring), then pads."""
    out = np.full(max_bytes, TEXT_PAD, dtype=np.int64)
    toks: list[int] = []
    for e in events:
        if not e.text:
            continue
        role = ROLES.index(e.role) if e.role in ROLES else ROLES.index("user")
        toks.append(257 + role)
        toks.extend(e.text.encode("utf-8"))
    if reminder:
        toks.append(257 + ROLES.index("system"))
        toks.extend(reminder.encode("utf-8"))
    toks = toks[:max_bytes]
    out[: len(toks)] = toks
    return out


def area_downscale(frame: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (3, size, size) float32 in [0, 1] by area averaging (what the
    model was trained on; `nbduplex.features.downscale` is PIL's bilinear, for the patches)."""
    f = np.asarray(frame)
    if f.ndim != 3 or f.shape[2] != 3:
        raise ValueError(f"frames must be (H, W, 3) RGB, got shape {f.shape}")
    f = np.ascontiguousarray(f)
    if not f.flags.writeable:  # a replayed trace's frames are read-only (torch would warn)
        f = f.copy()
    x = torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255.0
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="area")
    return x[0].numpy()


class InstructionMemory:
    """The latest instruction text and the time since it arrived (one session, in order)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the instruction."""
        self.text = ""
        self.t: float | None = None

    def update(self, events, t: float) -> tuple[float, str]:
        """Events of the micro-turn starting at `t` -> (seconds since the instruction, reminder).

        The reminder is "" in the micro-turn the instruction arrives (it is in the events) and
        once `SINCE_TEXT_MAX` seconds have passed."""
        new = [e.text for e in events if e.role in INSTRUCTION_ROLES and e.text]
        if new:
            self.text, self.t = " ".join(new), t
        since = SINCE_TEXT_MAX if self.t is None else min(t - self.t, SINCE_TEXT_MAX)
        reminder = self.text if (not new and self.t is not None and since < SINCE_TEXT_MAX) else ""
        return float(since), reminder


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
        self._memory = InstructionMemory()
        self._last_image: np.ndarray | None = None

    def __call__(self, turn: MicroTurn) -> TurnInputs:
        cfg = self.config
        codes = self._dmel.push(turn.audio)  # (16, 80) uint8
        if codes.shape[0] != 16:
            raise ValueError(f"micro-turn {turn.seq}: expected 16 dMel frames, got {codes.shape}")
        has_image = bool(turn.frames)
        image = (
            area_downscale(turn.frames[-1], cfg.image_size)
            if has_image
            else np.zeros((3, cfg.image_size, cfg.image_size), np.float32)
        )
        since, reminder = self._memory.update(turn.text, turn.t)
        return TurnInputs(
            codes=torch.from_numpy(codes.astype(np.int64))[None, None],
            image=torch.from_numpy(image)[None, None],
            has_image=torch.tensor([[has_image]]),
            text=torch.from_numpy(encode_text(turn.text, cfg.max_text_bytes, reminder))[None, None],
            speaking=torch.tensor([[float(turn.model_speaking)]]),
            t=torch.tensor([[turn.t]], dtype=torch.float32),
            since_text=torch.tensor([[since]], dtype=torch.float32),
        )


def since_text_series(text_turns: list[int], n_turns: int) -> np.ndarray:
    """(n_turns,) seconds since the last micro-turn in `text_turns` (instruction text)."""
    out = np.full(n_turns, SINCE_TEXT_MAX, np.float32)
    marks = sorted(set(k for k in text_turns if 0 <= k < n_turns))
    for i, k in enumerate(marks):
        stop = marks[i + 1] if i + 1 < len(marks) else n_turns
        out[k:stop] = np.minimum(np.arange(stop - k) * MICROTURN_S, SINCE_TEXT_MAX)
    return out
