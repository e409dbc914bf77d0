"""Streaming voice-activity detectors with one interface, fed one 200 ms micro-turn at a time.

Every VAD here frames the 16 kHz int16 stream in its own frame size (Silero 512 samples = 32 ms,
WebRTC 10/20/30 ms, energy 20 ms), carries any partial frame over to the next call, and reports:

- `process(chunk) -> float`: the speech score of the chunk, the mean of the per-frame speech
  probabilities of the frames that *completed* in this call (so a chunk half speech, half silence
  scores about 0.5). With no frame completed it repeats the last frame's probability.
- `.frame_probs`: those per-frame probabilities (list[float], oldest first), and `.frame_s`, the
  frame duration in seconds, for sub-chunk timing (the cascade endpoints on frames, not chunks).
- `.frame_end_s`: stream time at the end of the last completed frame.
- `reset()`: forget all streaming state (a new session).

Implementations:
- `SileroVAD`: the Silero VAD v5 ONNX model bundled in the `silero-vad` wheel, run through
  onnxruntime directly (no torch, no network); its LSTM state and 64-sample context carry over
  between calls exactly as the reference `OnnxWrapper` does, so streaming == offline.
- `WebRTCVAD(aggressiveness=0..3)`: Google's WebRTC GMM VAD (`webrtcvad-wheels`), binary per
  frame (probability 0.0 or 1.0).
- `EnergyVAD`: frame level in dBFS against an absolute threshold and an adaptive noise floor
  (minimum statistics: the quietest frame of the last couple of seconds), squashed to a soft
  probability.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nbduplex.microturn import SAMPLE_RATE


class StreamingVAD(ABC):
    """Base class: frame the stream, carry partial frames, record per-frame probabilities."""

    name = "vad"
    frame_samples = 320  # samples per VAD frame

    def __init__(self) -> None:
        self._pending = np.zeros(0, np.int16)  # (n,) samples of an incomplete frame
        self._frames_done = 0
        self.frame_probs: list[float] = []
        self._last = 0.0

    @property
    def frame_s(self) -> float:
        """Duration of one VAD frame in seconds."""
        return self.frame_samples / SAMPLE_RATE

    @property
    def frame_end_s(self) -> float:
        """Stream time (s) at the end of the last completed frame."""
        return self._frames_done * self.frame_s

    def reset(self) -> None:
        """Forget all streaming state."""
        self._pending = np.zeros(0, np.int16)
        self._frames_done = 0
        self.frame_probs = []
        self._last = 0.0
        self._reset_model()

    def process(self, chunk: np.ndarray) -> float:
        """Feed int16 mono 16 kHz samples (normally one (3200,) micro-turn); return its score."""
        a = np.asarray(chunk)
        if a.dtype != np.int16:
            raise TypeError(f"VAD input must be int16 16 kHz mono, got dtype {a.dtype}")
        if a.ndim != 1:
            raise ValueError(f"VAD input must be 1-D (samples,), got shape {a.shape}")
        buf = np.concatenate([self._pending, a]) if self._pending.size else a
        n = buf.size // self.frame_samples
        frames = buf[: n * self.frame_samples].reshape(n, self.frame_samples)  # (n, F)
        self._pending = buf[n * self.frame_samples :].copy()
        self.frame_probs = [float(p) for p in self._frame_probs(frames)] if n else []
        self._frames_done += n
        if self.frame_probs:
            self._last = self.frame_probs[-1]
            return float(np.mean(self.frame_probs))
        return self._last

    # subclasses implement `_frame_probs`, and `_reset_model` when they carry model state
    def _reset_model(self) -> None:  # noqa: B027 - optional hook: stateless VADs have nothing
        return None

    @abstractmethod
    def _frame_probs(self, frames: np.ndarray) -> np.ndarray:  # (n, F) int16 -> (n,) float
        """Speech probability of each complete frame."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def silero_model_path() -> Path:
    """Path of the Silero VAD ONNX model shipped inside the `silero-vad` wheel."""
    import silero_vad

    path = Path(silero_vad.__file__).parent / "data" / "silero_vad.onnx"
    if not path.exists():
        raise FileNotFoundError(f"Silero ONNX model not found at {path}")
    return path


class SileroVAD(StreamingVAD):
    """Silero VAD (bundled ONNX model, onnxruntime, one CPU thread), 32 ms frames at 16 kHz."""

    name = "silero"
    frame_samples = 512
    context_samples = 64  # the model sees the last 64 samples of the previous frame too

    def __init__(self, model_path: str | Path | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(model_path or silero_model_path()),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
        )
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)
        super().__init__()
        self._reset_model()

    def _reset_model(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)  # LSTM (h, c)
        self._context = np.zeros((1, self.context_samples), np.float32)

    def _frame_probs(self, frames: np.ndarray) -> np.ndarray:
        x = frames.astype(np.float32) / 32768.0  # (n, 512)
        out = np.empty(len(x), np.float32)
        for i, frame in enumerate(x):
            inp = np.concatenate([self._context, frame[None]], axis=1)  # (1, 576)
            prob, self._state = self._session.run(
                None, {"input": inp, "state": self._state, "sr": self._sr}
            )
            self._context = inp[:, -self.context_samples :]
            out[i] = prob[0, 0]
        return out

    def __repr__(self) -> str:
        return "SileroVAD()"


class WebRTCVAD(StreamingVAD):
    """WebRTC VAD (`webrtcvad` from webrtcvad-wheels): binary speech decision per frame.

    `aggressiveness` 0..3 (3 rejects the most non-speech); `frame_ms` 10, 20 or 30
    (20 divides a micro-turn exactly: 10 frames).
    """

    name = "webrtc"

    def __init__(self, aggressiveness: int = 2, frame_ms: int = 20) -> None:
        import webrtcvad

        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError(f"aggressiveness must be 0, 1, 2 or 3, got {aggressiveness!r}")
        if frame_ms not in (10, 20, 30):
            raise ValueError(f"frame_ms must be 10, 20 or 30, got {frame_ms!r}")
        self.aggressiveness = aggressiveness
        self.frame_ms = frame_ms
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000
        self._vad = webrtcvad.Vad(aggressiveness)
        super().__init__()

    def _frame_probs(self, frames: np.ndarray) -> np.ndarray:
        return np.array(
            [float(self._vad.is_speech(f.tobytes(), SAMPLE_RATE)) for f in frames], np.float32
        )

    def __repr__(self) -> str:
        return f"WebRTCVAD(aggressiveness={self.aggressiveness}, frame_ms={self.frame_ms})"


@dataclass
class EnergyConfig:
    """Settings of the energy VAD."""

    threshold_db: float = -45.0  # dBFS; frames quieter than this are never speech
    snr_db: float = 10.0  # dB above the adaptive noise floor needed for speech
    softness_db: float = 2.0  # dB; width of the sigmoid from level to probability
    floor_window_s: float = 2.0  # s; the noise floor is the quietest frame level in this window
    frame_ms: int = 20  # ms per frame


class EnergyVAD(StreamingVAD):
    """Energy VAD: p = sigmoid((level - max(threshold_db, floor + snr_db)) / softness_db).

    The noise floor is the minimum frame level over the last `floor_window_s` (minimum
    statistics): it follows a quieter signal at once, learns steady noise within one window,
    and stays put during speech because speech always has quieter frames between syllables.
    """

    name = "energy"

    def __init__(self, threshold_db: float = -45.0, **kwargs: float) -> None:
        self.config = EnergyConfig(threshold_db=threshold_db, **kwargs)
        if self.config.frame_ms <= 0 or self.config.softness_db <= 0:
            raise ValueError("frame_ms and softness_db must be positive")
        self.frame_samples = SAMPLE_RATE * int(self.config.frame_ms) // 1000
        super().__init__()
        self._reset_model()

    def _reset_model(self) -> None:
        n = max(1, round(self.config.floor_window_s / self.frame_s))
        self._levels: deque[float] = deque(maxlen=n)  # recent frame levels, dBFS
        self.noise_floor_db: float | None = None

    def _frame_probs(self, frames: np.ndarray) -> np.ndarray:
        c = self.config
        x = frames.astype(np.float64) / 32768.0  # (n, F)
        rms = np.sqrt(np.mean(x * x, axis=1))  # (n,)
        levels = 20.0 * np.log10(np.maximum(rms, 1e-5))  # (n,) dBFS, >= -100
        out = np.empty(len(levels), np.float32)
        for i, lv in enumerate(levels):
            self._levels.append(float(lv))
            floor = self.noise_floor_db = min(self._levels)
            gate = max(c.threshold_db, floor + c.snr_db)
            z = (lv - gate) / c.softness_db
            out[i] = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        return out

    def __repr__(self) -> str:
        return f"EnergyVAD(threshold_db={self.config.threshold_db})"


VADS: dict[str, type[StreamingVAD]] = {
    "silero": SileroVAD,
    "webrtc": WebRTCVAD,
    "energy": EnergyVAD,
}


def make_vad(name: str, **options) -> StreamingVAD:
    """A VAD by name: `silero`, `webrtc` (aggressiveness, frame_ms) or `energy` (EnergyConfig)."""
    if name not in VADS:
        raise ValueError(f"unknown VAD {name!r}; choose one of: {', '.join(VADS)}")
    return VADS[name](**options)
