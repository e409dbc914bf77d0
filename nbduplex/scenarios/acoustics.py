"""Room colour and background noise for scenario audio, all drawn from a numpy Generator.

Room: a short random impulse response (exponentially decaying noise, RT60 0.08-0.5 s, mixed
with the direct path) or a simple EQ (low/high shelving by first-order filters).
Channel: `band_limit` low-passes speech like a narrowband channel (an 8 kHz-sampled voice,
a telephone or Bluetooth headset: nothing above 3-4 kHz).
Noise: white, pink (1/f), hum (50/60 Hz and harmonics plus a little white) or babble-like
(reversed espeak speech from several voices, so nothing intelligible and no cue words), mixed at
a target SNR relative to the level of the *active* speech.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal

from nbduplex.microturn import SAMPLE_RATE

NOISE_TYPES = ("white", "pink", "hum", "babble")
ROOM_TYPES = ("dry", "reverb", "eq")


def apply_room(
    x: np.ndarray, rng: np.random.Generator, kind: str | None = None
) -> tuple[np.ndarray, dict]:
    """Colour float speech `x` (n,) by a random room; returns (audio, description)."""
    kind = kind or ROOM_TYPES[int(rng.integers(len(ROOM_TYPES)))]
    if kind == "dry" or x.size == 0:
        return x, {"type": "dry"}
    if kind == "reverb":
        rt60 = float(rng.uniform(0.08, 0.5))  # s
        wet = float(rng.uniform(0.1, 0.5))
        n = int(rt60 * SAMPLE_RATE)
        t = np.arange(n) / SAMPLE_RATE
        ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
        ir = wet * ir / np.sqrt(np.sum(ir**2))
        ir[0] += 1.0
        y = signal.fftconvolve(x, ir)[: x.size]
        return y.astype(np.float32), {"type": "reverb", "rt60_s": rt60, "wet": wet}
    if kind == "eq":
        lo_hz, hi_hz = float(rng.uniform(150, 600)), float(rng.uniform(2000, 5000))
        lo_gain, hi_gain = float(rng.uniform(-9, 6)), float(rng.uniform(-12, 4))  # dB
        b, a = signal.butter(1, lo_hz, "low", fs=SAMPLE_RATE)
        low = signal.lfilter(b, a, x)
        b, a = signal.butter(1, hi_hz, "high", fs=SAMPLE_RATE)
        high = signal.lfilter(b, a, x)
        y = x + (10 ** (lo_gain / 20) - 1) * low + (10 ** (hi_gain / 20) - 1) * high
        desc = {"type": "eq", "low_hz": lo_hz, "low_db": lo_gain, "high_hz": hi_hz}
        return y.astype(np.float32), desc | {"high_db": hi_gain}
    raise ValueError(f"unknown room type {kind!r}; choose one of {ROOM_TYPES}")


def band_limit(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """Float audio `x` with everything above `cutoff_hz` removed (8th-order Butterworth)."""
    if not 0 < cutoff_hz < SAMPLE_RATE / 2:
        raise ValueError(f"cutoff must be in (0, {SAMPLE_RATE // 2}) Hz, got {cutoff_hz!r}")
    if x.size == 0:
        return x
    sos = signal.butter(8, cutoff_hz, "low", fs=SAMPLE_RATE, output="sos")
    return signal.sosfilt(sos, x).astype(np.float32)


def make_noise(n: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Unit-RMS float noise of `n` samples."""
    if kind == "white":
        y = rng.standard_normal(n)
    elif kind == "pink":
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(spec.size, dtype=np.float64)
        f[0] = 1.0
        y = np.fft.irfft(spec / np.sqrt(f), n)
    elif kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        base = 50.0 if rng.random() < 0.5 else 60.0
        phases = rng.uniform(0, 2 * np.pi, 4)
        y = sum(np.sin(2 * np.pi * base * (k + 1) * t + phases[k]) / (k + 1) for k in range(4))
        y = y + 0.3 * rng.standard_normal(n)
    elif kind == "babble":
        bank = _babble_bank()
        y = np.zeros(n)
        for _ in range(int(rng.integers(3, 7))):
            src = bank[int(rng.integers(len(bank)))]
            reps = np.tile(src, n // src.size + 2)
            off = int(rng.integers(src.size))
            y += reps[off : off + n] * rng.uniform(0.5, 1.0)
    else:
        raise ValueError(f"unknown noise type {kind!r}; choose one of {NOISE_TYPES}")
    rms = float(np.sqrt(np.mean(np.square(y)))) if n else 0.0
    return (y / rms if rms > 0 else y).astype(np.float32)


@lru_cache(maxsize=1)
def _babble_bank() -> tuple[np.ndarray, ...]:
    """Reversed espeak sentences in several voices (synthesised once per process)."""
    from nbduplex.tts import synthesize

    lines = [
        ("the committee will meet again on thursday to discuss the budget", "en-us+m3"),
        ("please remember to bring your own cup to the kitchen", "en-gb+f2"),
        ("the train was delayed because of the snow on the tracks", "en-us+m1"),
        ("she painted the fence a bright shade of green last summer", "en-gb-x-rp+f4"),
        ("we should leave early if we want to find a parking space", "en+m5"),
    ]
    out = []
    for text, voice in lines:
        a = synthesize(text, voice=voice).audio.astype(np.float32)[::-1] / 32768.0
        out.append(a / (np.sqrt(np.mean(a**2)) + 1e-9))
    return tuple(out)


def active_rms(x: np.ndarray, frame: int = 320) -> float:
    """RMS over the frames within 30 dB of the loudest 20 ms frame (speech level)."""
    n = x.size // frame
    if n == 0:
        return 0.0
    p = np.mean(np.square(x[: n * frame].reshape(n, frame)), axis=1)  # (n,)
    if p.max() <= 0:
        return 0.0
    return float(np.sqrt(np.mean(p[p > p.max() * 1e-3])))


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + noise scaled so active-speech RMS / noise RMS = snr_db."""
    s = active_rms(speech)
    if not np.isfinite(snr_db) or s == 0:
        return speech
    return speech + noise * (s / 10 ** (snr_db / 20))
