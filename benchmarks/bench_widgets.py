"""Benchmark the live widgets in a real browser (JupyterLab + Debian Chromium, fake devices).

Prints, for a capture of `--seconds` (default 60) with each policy:
- chunks/s that reached the kernel, seq gaps, dropped (missing) micro-turns, late chunks;
- capture -> decision latency past the chunk boundary (p50/p95/max, ms): the time from the
  browser capturing the last sample of a chunk to the policy's decision on it;
- timeline draw time (p50/p95/max, ms) with 3000 micro-turns: while a row is appended every
  200 ms (live, follow mode) and during a pan/zoom sweep of 300 frames (incl. fully zoomed out).

    python benchmarks/bench_widgets.py [--seconds 60] [--policy openai-server-vad --policy model]

`--policy untrained-model` runs the interaction model architecture (default ModelConfig) with
random weights: the same compute per step as a trained checkpoint, for timing when none ships.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.browser_lab import (  # noqa: E402 - the repo root must be importable first
    Lab,
    launch,
    missing_requirements,
    open_notebook,
    run_cell,
    status_cell,
    wait_json,
    write_media,
    write_notebook,
)

SETUP = """
import time, threading, numpy as np, nbduplex
from IPython.display import display
from nbduplex.decision import ACTIONS
from nbduplex.widgets import TimelineWidget
lv = nbduplex.live(policy={policy!r}, echo_cancellation=False)
tl = TimelineWidget()
def _row(i, rng=np.random.default_rng(0)):
    a = ACTIONS[0] if rng.random() < 0.85 else ACTIONS[int(rng.integers(1, len(ACTIONS)))]
    p = rng.dirichlet(np.ones(len(ACTIONS)))
    return dict(seq=i, t=i * 0.2, level_db=float(rng.uniform(-80, -5)), action=a,
                probs=dict(zip(ACTIONS, p.tolist())), speaking=bool((i // 15) % 3 == 0),
                user_text="", text="ok" if a == "respond" else "", step_ms=0.3, flags=[])
tl.extend([_row(i) for i in range(3000)])
display(tl)
def _feed():  # the 3000-row timeline keeps growing at 5 micro-turns/s
    i = 3000
    while True:
        time.sleep(0.2)
        tl.append(_row(i)); i += 1
threading.Thread(target=_feed, daemon=True).start()
"""

STATUS = """{
    "capture": lv.capture.stats,
    "arrivals": list(lv.capture.arrivals),
    "latency": [r.get("latency_ms") for r in (lv.trace.rows if lv.trace else [])],
    "step": [r.get("step_ms") for r in (lv.trace.rows if lv.trace else [])],
    "actions": lv.stats()["actions"] if lv.trace else {},
    "tl_perf": list(tl.perf_reports),
    "running": lv.running,
}"""


UNTRAINED = """
import torch
from nbduplex.model import InteractionModel, InteractionModelPolicy, ModelConfig

def policy():
    torch.manual_seed(0)
    return InteractionModelPolicy(InteractionModel(ModelConfig()).eval())
"""


def pcts(values: list[float]) -> str:
    v = np.asarray([x for x in values if x is not None], float)
    if not v.size:
        return "n/a"
    p50, p95 = np.percentile(v, [50, 95])
    return f"p50 {p50:.1f}  p95 {p95:.1f}  max {v.max():.1f}  (n={v.size})"


def run(policy: str, seconds: float, root: Path, lab: Lab, pw, media: tuple, out: Path) -> None:
    wav, y4m = media
    name = f"bench-{policy.replace(':', '_')}"
    status = root / f"{name}.json"
    write_notebook(
        root / f"{name}.ipynb", [SETUP.format(policy=policy) + status_cell(STATUS, status, 0.5)]
    )
    ctx = launch(pw, root / f"profile-{name}", wav, y4m)
    try:
        page = ctx.new_page()
        open_notebook(page, lab.url(f"{name}.ipynb"))
        run_cell(page, 0)
        page.locator(".nbd-capture button.nbd-start").click()
        page.wait_for_selector(".nbd-capture[data-state=live]", timeout=20_000)
        t0 = time.monotonic()
        time.sleep(seconds / 2)
        page.evaluate(  # the pan/zoom sweep, while capture and the live feed go on
            """async (code) => { const k = window.jupyterapp.shell.currentWidget.context
                .sessionContext.session.kernel; await k.requestExecute({code}).done; }""",
            "tl.bench(300)",
        )
        time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
        page.locator(".nbd-capture button.nbd-start").click()  # Stop
        st = wait_json(status, lambda s: not s["running"] and s["arrivals"], timeout=30)
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    finally:
        ctx.close()
    arr = st["arrivals"]
    seqs = [a[0] for a in arr]
    gaps = sum(b - a - 1 for a, b in zip(seqs, seqs[1:], strict=False) if b > a + 1)
    span = arr[-1][1] - arr[0][1] if len(arr) > 1 else float("nan")
    cap = st["capture"]
    live = [p for p in st["tl_perf"] if p.get("tag") == "live"]
    bench = [p for p in st["tl_perf"] if p.get("tag") == "bench"]
    rate = (len(arr) - 1) / span
    oo = cap["assembler"]["out_of_order"]
    print(f"\n== policy {policy}: {seconds:.0f} s of browser capture ==")
    print(f"chunks: {len(arr)} in {span:.1f} s -> {rate:.2f} chunks/s")
    print(f"gaps {gaps}, dropped {cap['dropped']}, late {cap['late']}, out-of-order {oo}")
    d50, d95 = cap["delay_ms_p50"], cap["delay_ms_p95"]
    print(f"browser -> kernel handler delay, ms: p50 {d50:.1f}  p95 {d95:.1f}")
    print(f"capture -> decision past the chunk boundary, ms: {pcts(st['latency'])}")
    print(f"policy step alone, ms: {pcts(st['step'])}")
    print(f"actions: {st['actions']}")
    worst = sorted(((a[2] - a[1]) * 1000, a[0]) for a in arr)[-3:]
    print("slowest chunks to the handler (ms, seq): " + ", ".join(f"{d:.0f}@{q}" for d, q in worst))
    if live:
        p50 = np.median([p["p50"] for p in live])
        p95, mx = max(p["p95"] for p in live), max(p["max"] for p in live)
        print(
            f"timeline draw, live at 3000+ micro-turns, ms: p50 {p50:.2f}  p95 {p95:.2f}  "
            f"max {mx:.2f}"
        )
    if bench:
        b = bench[-1]
        print(f"timeline draw, pan/zoom sweep ({b['n']} frames, 3000+ micro-turns), ms: "
              f"p50 {b['p50']:.2f}  p95 {b['p95']:.2f}  max {b['max']:.2f}")  # fmt: skip
    print(f"screenshot: {out / (name + '.png')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--policy", action="append", help="policy name (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("out/bench-widgets"), help="screenshots")
    args = ap.parse_args()
    why = missing_requirements()
    if why:
        sys.exit(f"cannot run the browser benchmark: {why}")
    policies = args.policy or ["openai-server-vad"]
    root = Path(tempfile.mkdtemp(prefix="nbduplex-bench-widgets-"))
    (root / "untrained_model.py").write_text(UNTRAINED)  # importable from the kernel's cwd
    policies = ["untrained_model:policy" if p == "untrained-model" else p for p in policies]
    args.out.mkdir(parents=True, exist_ok=True)
    media = write_media(root)
    lab = Lab(root).start()
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            for policy in policies:
                run(policy, args.seconds, root, lab, pw, media, args.out)
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
