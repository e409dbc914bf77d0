"""Speed of each streaming VAD and cascade preset: milliseconds per 200 ms micro-turn.

Run: `python benchmarks/bench_vad.py [--seconds 20]`. Feeds espeak-ng speech with pauses
(about half speech) one micro-turn at a time on one thread and prints the median and 95th
percentile per micro-turn, and the real-time factor (how many times faster than real time).
Timings are from one run on a shared machine: compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nbduplex.microturn import MICROTURN_S, MicroTurn, conform_audio, split_chunks  # noqa: E402
from nbduplex.policies import PRESETS, EnergyVAD, SileroVAD, WebRTCVAD, make_preset  # noqa: E402


def test_audio(seconds: float) -> np.ndarray:
    from nbduplex.tts import synthesize

    speech = synthesize("The quick brown fox jumps over the lazy dog, again and again.").audio
    pause = np.zeros(len(speech), np.int16)
    reps = int(np.ceil(seconds * 16000 / (2 * len(speech))))
    return np.concatenate([np.concatenate([speech, pause]) for _ in range(reps)])[
        : int(seconds * 16000)
    ]


def bench(fn, chunks: list[np.ndarray]) -> np.ndarray:
    times = np.empty(len(chunks))
    for i, c in enumerate(chunks):
        t0 = time.perf_counter()
        fn(i, c)
        times[i] = (time.perf_counter() - t0) * 1000.0
    return times


def report(name: str, ms: np.ndarray) -> None:
    med, p95 = np.median(ms), np.percentile(ms, 95)
    print(f"{name:42s} {med:8.3f} {p95:8.3f} {MICROTURN_S * 1000 / max(med, 1e-9):10.0f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    chunks = [conform_audio(c)[0] for c in split_chunks(test_audio(args.seconds))]
    print(f"{len(chunks)} micro-turns; ms per micro-turn (median, p95), real-time factor")
    print(f"{'':42s} {'median':>8s} {'p95':>8s} {'RTF':>11s}")
    for vad in (SileroVAD(), WebRTCVAD(0), WebRTCVAD(3), WebRTCVAD(2, frame_ms=10), EnergyVAD()):
        vad.process(chunks[0])  # warm up
        vad.reset()
        report(repr(vad), bench(lambda i, c, v=vad: v.process(c), chunks))
    for name in PRESETS:
        policy = make_preset(name)
        turns = [MicroTurn(i, c) for i, c in enumerate(chunks)]
        report(f"cascade {name}", bench(lambda i, c, p=policy, t=turns: p.step(t[i]), chunks))


if __name__ == "__main__":
    main()
