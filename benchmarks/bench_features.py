"""Feature-extractor throughput on one CPU core (and CUDA when present), in micro-turns/s.

    python benchmarks/bench_features.py [--seconds 60]

A micro-turn is 200 ms (3200 samples -> 16 dMel frames). Signals: a speech-like full-band
signal, the same band-limited to 4 kHz (the worst case for the exact float32 path: many
frames need the float64 fix-up) and white noise. Best of `--repeat` runs. Not a test.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, set before numpy / torch load

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from nbduplex.features import (  # noqa: E402
    StreamingDMel,
    dmel_codes_numpy,
    dmel_codes_torch,
    frame_to_patches,
    text_to_bytes,
)
from nbduplex.microturn import CHUNK_SAMPLES, SAMPLE_RATE, float_to_int16, resample  # noqa: E402


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Glottal pulse trains with a gliding pitch, noise bursts and pauses (int16, 16 kHz)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    phase = np.cumsum(120 + 40 * np.sin(2 * np.pi * 0.7 * t)) / SAMPLE_RATE
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    k = np.arange(160)
    voiced = np.convolve(pulses, np.exp(-k / 20.0) * np.sin(2 * np.pi * 700 * k / SAMPLE_RATE))
    fric = np.diff(rng.standard_normal(n + 1)) * 0.05
    seg = (np.arange(n) // 2400) % 4
    x = np.where(seg % 2 == 0, voiced[:n], 0.0) + np.where(seg == 1, fric, 0.0)
    return float_to_int16(x / np.abs(x).max() * 0.6 + 1e-4 * rng.standard_normal(n))


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="audio per signal")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    full = speech_like(args.seconds)
    band = float_to_int16(resample(resample(full / 32768.0, SAMPLE_RATE, 8000), 8000))[: len(full)]
    noise = (np.random.default_rng(1).standard_normal(len(full)) * 3000).astype(np.int16)
    n_turns = len(full) // CHUNK_SAMPLES
    full, band, noise = (x[: n_turns * CHUNK_SAMPLES] for x in (full, band, noise))
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {n_turns} micro-turns")

    def streaming(x):
        s = StreamingDMel()
        for i in range(0, len(x), CHUNK_SAMPLES):
            s.push(x[i : i + CHUNK_SAMPLES])

    def torch_per_turn(x):
        hist = np.zeros(600, np.int16)
        for i in range(0, len(x), CHUNK_SAMPLES):
            dmel_codes_torch(x[i : i + CHUNK_SAMPLES], history=hist)
            hist = x[i + CHUNK_SAMPLES - 600 : i + CHUNK_SAMPLES]

    batch = torch.from_numpy(np.stack([full] * 8))  # (8, n): 8 streams at once
    cases = {
        "numpy reference, offline": lambda x: dmel_codes_numpy(x),
        "numpy StreamingDMel, per micro-turn": streaming,
        "torch exact, offline": lambda x: dmel_codes_torch(x),
        "torch exact, per micro-turn": torch_per_turn,
        "torch float32 (exact=False), offline": lambda x: dmel_codes_torch(x, exact=False),
    }
    head = f"{'speech-like':>12s} {'band-4k':>10s} {'noise':>10s}"
    print(f"{'dMel micro-turns/s (one core)':40s} {head}")
    for name, fn in cases.items():
        signals = (full, band, noise)
        rates = [n_turns / best_time(lambda x=x, f=fn: f(x), args.repeat) for x in signals]
        print(f"{name:40s} {rates[0]:12.0f} {rates[1]:10.0f} {rates[2]:10.0f}")
    rate = 8 * n_turns / best_time(lambda: dmel_codes_torch(batch), args.repeat)
    print(f"{'torch exact, batch of 8 streams':40s} {rate:12.0f}")
    if torch.cuda.is_available():
        gpu = torch.from_numpy(np.stack([full] * 64)).cuda()  # (64, n)
        dmel_codes_torch(gpu)
        torch.cuda.synchronize()

        def on_gpu():
            dmel_codes_torch(gpu)
            torch.cuda.synchronize()

        rate = 64 * n_turns / best_time(on_gpu, args.repeat)
        print(f"{'torch exact, CUDA, batch of 64':40s} {rate:12.0f}")

    frame = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    rate = 50 / best_time(lambda: [frame_to_patches(frame) for _ in range(50)], args.repeat)
    print(f"frame_to_patches 640x480 -> 16x768: {rate:.0f} frames/s")
    text = "Please remind me in ten seconds to check the oven. " * 4
    rate = 1000 / best_time(lambda: [text_to_bytes(text, 128) for _ in range(1000)], args.repeat)
    print(f"text_to_bytes (128 bytes): {rate:.0f} calls/s")


if __name__ == "__main__":
    main()
