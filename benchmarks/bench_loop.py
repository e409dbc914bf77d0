"""Micro-turns per second of the session loop with a cascade policy, as fast as possible.

Runs a synthetic conversation through `Session` (features of the policy, the speaker's TTS,
the trace: everything the CLI does) on one core and prints micro-turns/s (target >= 100).

    python benchmarks/bench_loop.py [--policy openai-server-vad] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    import torch

    from nbduplex.scenarios import generate_mixture
    from nbduplex.session import Session

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--policy", default="openai-server-vad")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    scenario = generate_mixture(seed=1)  # every scenario kind: about a minute of input
    turns = list(scenario.source())
    Session(turns[:10], args.policy).run()  # warm-up: model load, TTS cache
    rates = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        trace = Session(turns, args.policy).run()
        dt = time.perf_counter() - t0
        rates.append(len(trace.rows) / dt)
    step_ms = sorted(r["step_ms"] for r in trace.rows)
    print(f"policy {args.policy}, {len(turns)} micro-turns ({len(turns) * 0.2:.0f} s of input)")
    print(
        f"loop: {max(rates):.0f} micro-turns/s best, {sorted(rates)[len(rates) // 2]:.0f} median "
        f"(target >= 100; real time is 5/s)"
    )
    print(
        f"policy step: p50 {step_ms[len(step_ms) // 2]:.2f} ms, "
        f"p95 {step_ms[int(len(step_ms) * 0.95)]:.2f} ms"
    )


if __name__ == "__main__":
    main()
