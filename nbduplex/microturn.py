"""The micro-turn: 200 ms of everything the model perceives, and the rules that make one.

Every source (browser, file, synthetic scenario, replay) produces `MicroTurn`s through
`conform_audio`, so a short, missing, stereo, off-rate or non-finite chunk is converted,
padded and *flagged* in exactly one place and never silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

SAMPLE_RATE = 16_000  # Hz, mono int16 everywhere inside nbduplex
MICROTURN_S = 0.2  # seconds per micro-turn
CHUNK_SAMPLES = 3_200  # samples per micro-turn (SAMPLE_RATE * MICROTURN_S)


class Flag:
    """Names of the flags a micro-turn may carry (plain strings, so traces stay JSON)."""

    PADDED = "padded"  # the chunk was shorter than 200 ms and was zero-padded
    MISSING = "missing"  # no audio arrived for this micro-turn: all zeros
    LATE = "late"  # the chunk arrived after its deadline
    TRUNCATED = "truncated"  # the chunk was longer than 200 ms; the excess was cut
    NONFINITE = "nonfinite"  # NaN/inf samples were replaced by 0
    CLIPPED = "clipped"  # float samples beyond [-1, 1] were clipped
    RESAMPLED = "resampled"  # the input rate was not 16 kHz
    DOWNMIXED = "downmixed"  # the input had more than one channel
    DUPLICATE = "duplicate"  # a chunk with this seq had already arrived (the copy was ignored)
    OUT_OF_ORDER = "out_of_order"  # the chunk arrived after a later one


@dataclass(frozen=True, slots=True)
class TextEvent:
    """Text entering the stream: typed by the user, returned by the agent, or said by the model."""

    role: str  # "user" | "agent" | "model" | "system"
    text: str


@dataclass(frozen=True, slots=True)
class MicroTurn:
    """One 200 ms micro-turn of input.

    `t` is stream time (seq x 0.2 s) of the start of the chunk; a decision on this micro-turn
    sees input up to `t + 0.2` and speech it starts begins at `t + 0.2` in the output.
    """

    seq: int
    audio: np.ndarray  # (CHUNK_SAMPLES,) int16 mono 16 kHz
    frames: tuple[np.ndarray, ...] = ()  # each (H, W, 3) uint8 RGB, 0..n per chunk
    text: tuple[TextEvent, ...] = ()  # text that arrived during this chunk
    wall: float = math.nan  # wall-clock (time.time()) when the chunk's last sample was captured
    flags: frozenset[str] = field(default_factory=frozenset)
    model_speaking: bool = False  # the model's own voice is audible during this chunk

    @property
    def t(self) -> float:
        """Stream time in seconds of the start of this micro-turn."""
        return self.seq * MICROTURN_S

    @property
    def user_text(self) -> str:
        """All user-typed text of this chunk joined by spaces ('' if none)."""
        return " ".join(e.text for e in self.text if e.role == "user")

    def with_(self, **changes) -> MicroTurn:
        """A copy with some fields changed."""
        return replace(self, **changes)


def to_mono_float(samples: np.ndarray) -> tuple[np.ndarray, set[str]]:
    """Any (n,) or (n, channels) int/float array -> float32 mono in [-1, 1], plus flags."""
    flags: set[str] = set()
    a = np.asarray(samples)
    if a.dtype.kind not in "fiu":
        raise TypeError(f"audio must be numeric, got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"audio must be 1-D or (samples, channels), got shape {a.shape}")
    a = a.astype(np.float64) / _int_scale(a.dtype) if a.dtype.kind in "iu" else a
    if a.ndim == 2:
        if a.shape[1] > 1:
            flags.add(Flag.DOWNMIXED)
        a = a.mean(axis=1)
    a = a.astype(np.float32, copy=False)
    if not np.all(np.isfinite(a)):
        flags.add(Flag.NONFINITE)
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    if a.size and (a.max() > 1.0 or a.min() < -1.0):
        flags.add(Flag.CLIPPED)
        a = np.clip(a, -1.0, 1.0)
    return a, flags


def _int_scale(dtype: np.dtype) -> float:
    info = np.iinfo(dtype)
    return float(max(abs(info.min), info.max)) if info.min < 0 else float(info.max) / 2


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample float mono audio with soxr (high quality, streaming-safe for whole buffers)."""
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples, rate, target).astype(np.float32)


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> int16 with rounding and clipping."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)


def conform_audio(
    samples: np.ndarray | None, rate: int = SAMPLE_RATE
) -> tuple[np.ndarray, frozenset[str]]:
    """Make one chunk exactly CHUNK_SAMPLES int16 mono at 16 kHz, flagging what was fixed.

    `None` or an empty array means the chunk is missing: zeros, flagged MISSING.
    """
    if samples is None or np.asarray(samples).size == 0:
        return np.zeros(CHUNK_SAMPLES, np.int16), frozenset({Flag.MISSING})
    a = np.asarray(samples)
    flags: set[str] = set()
    if a.dtype == np.int16 and a.ndim == 1 and rate == SAMPLE_RATE:
        out = a
    else:
        f, flags = to_mono_float(a)
        if rate != SAMPLE_RATE:
            flags.add(Flag.RESAMPLED)
            f = resample(f, rate)
        out = float_to_int16(f)
    if out.size < CHUNK_SAMPLES:
        flags.add(Flag.PADDED)
        out = np.concatenate([out, np.zeros(CHUNK_SAMPLES - out.size, np.int16)])
    elif out.size > CHUNK_SAMPLES:
        flags.add(Flag.TRUNCATED)
        out = out[:CHUNK_SAMPLES]
    return np.ascontiguousarray(out, dtype=np.int16), frozenset(flags)


def split_chunks(audio: np.ndarray) -> list[np.ndarray]:
    """Split a whole 16 kHz int16 mono signal into CHUNK_SAMPLES pieces (last one may be short)."""
    return [audio[i : i + CHUNK_SAMPLES] for i in range(0, len(audio), CHUNK_SAMPLES)]


def rms_dbfs(audio: np.ndarray) -> float:
    """RMS level of int16 audio in dBFS (-100 for silence)."""
    if audio.size == 0:
        return -100.0
    r = float(np.sqrt(np.mean((audio.astype(np.float64) / 32768.0) ** 2)))
    return max(-100.0, 20.0 * math.log10(r)) if r > 0 else -100.0
