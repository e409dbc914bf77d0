"""Benchmark the interaction model (a script, not a test): step latency and KV-cache speed-up.

    python benchmarks/bench_model.py [--threads 2] [--steps 300] [--context-turns 3000]

Prints p50/p95 latency of one streaming `step()` (one micro-turn, every modality present:
audio codes, a frame, text bytes, speaking flag, time) and the ratio between recomputing a full
pass over a 10-minute context (3000 micro-turns) and one KV-cache step at that context.
Also the byte decoder: p50/p95 of spelling one utterance (greedy, up to 64 bytes; paid only on
micro-turns that start speech). Featurisation (dMel, downscaling) is not included: see the
features benchmarks.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nbduplex.model.config import ModelConfig
from nbduplex.model.inputs import random_inputs
from nbduplex.model.model import InteractionModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--context-turns", type=int, default=3000)
    ap.add_argument(
        "--checkpoint", default=None, help="a checkpoint's config (default: ModelConfig())"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cfg = ModelConfig()
    if args.checkpoint:
        cfg = ModelConfig.from_dict(torch.load(args.checkpoint, map_location="cpu")["config"])
    torch.manual_seed(0)
    model = InteractionModel(cfg).to(device).eval()
    print(f"device={device} threads={args.threads} params={model.num_parameters():,}")
    print(f"tokens/micro-turn={cfg.tokens_per_turn} cache={cfg.ctx_turns} micro-turns")

    # 1. step latency, with a full cache (the steady state of a long session)
    n = args.steps + cfg.ctx_turns
    x = random_inputs(cfg, 1, n, torch.Generator().manual_seed(0)).to(device)
    x.has_image[:] = True
    times = []
    with torch.inference_mode(), model.streaming(1):
        for i in range(n):
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.step(x.slice(i, i + 1))
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= cfg.ctx_turns:
                times.append((time.perf_counter() - t0) * 1e3)
    p50, p95 = np.percentile(times, [50, 95])
    print(f"step latency: p50 {p50:.2f} ms  p95 {p95:.2f} ms  (target p50 <= 20 ms)")

    # 2. spelling the words of one utterance (a fixed length: an untrained decoder may stop early)
    dec = model.byte_decoder
    h = torch.randn(1, cfg.d_model, device=device)
    spell = []
    with torch.inference_mode():
        for i in range(50):
            t0 = time.perf_counter()
            c = dec._context(h, torch.tensor([i % 3], device=device))
            state, cond = torch.tanh(dec.init(c))[None], dec.cond(c)
            tok = torch.zeros(1, dtype=torch.long, device=device)
            for _ in range(32):  # a 32-byte sentence ("Sure, tell me a bit more." is 25)
                y, state = dec.gru((dec.emb(tok) + cond)[:, None], state)
                tok = dec.out(y[:, 0]).argmax(-1)
            if device == "cuda":
                torch.cuda.synchronize()
            spell.append((time.perf_counter() - t0) * 1e3)
    s50, s95 = np.percentile(spell, [50, 95])
    print(f"byte decoder, 32 bytes: p50 {s50:.2f} ms  p95 {s95:.2f} ms (on speech onsets only)")

    # 3. KV-cache step vs a full recompute at a long context
    ctx = args.context_turns
    y = random_inputs(cfg, 1, ctx, torch.Generator().manual_seed(1)).to(device)
    with torch.inference_mode():
        t0 = time.perf_counter()
        model(y)
        full_ms = (time.perf_counter() - t0) * 1e3
    ratio = full_ms / p50
    print(
        f"full recompute of {ctx} micro-turns ({ctx * 0.2 / 60:.0f} min): {full_ms:.0f} ms; "
        f"KV step p50 {p50:.2f} ms -> ratio {ratio:.0f}x (expected >= 50x)"
    )


if __name__ == "__main__":
    main()
