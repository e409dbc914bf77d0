"""Decision-time calibration of a trained model on training voices with unseen seeds.

The class-balanced action loss inflates rare actions (an `interject` due at one micro-turn is
predicted with high probability for several micro-turns before it), so the policy multiplies
each action's probability by a scale before the arg-max (`InteractionModelPolicy`'s
`action_scales`). `calibrate` tries a small grid of scales on the "train" split (training
voices, evaluation seeds that training never used; never the held-out voices or flite) and
keeps the best by `calibration_score`; `nbduplex train --calibrate` stores the result in the
checkpoint's meta, where the policy reads it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

# interject x respond x back-channel x delegate scales tried (1.0 = as trained)
DEFAULT_GRID: tuple[dict[str, float], ...] = tuple(
    {"interject": i, "respond": r, "backchannel": b, "delegate": d}
    for i in (1.0, 0.5, 0.25)
    for r in (1.0, 0.6)
    for b in (1.0, 0.5)
    for d in (1.0, 0.3)
)
CALIBRATION_SEED = 20_000  # seeds used here: distinct from training and from EVAL_SEED


def calibration_score(r: dict[str, float]) -> float:
    """Sum of the task scores (turn TOR, 1 - pause TOR, TimeSpeak, CueSpeak, counting OBO,
    visual hits, delegation, barge-in stops; NaN counts 0) plus the delegation precision (NaN,
    no delegation at all, counts 1: nothing was delegated wrongly) minus the turn latency past
    0.4 s."""

    def nz(v: float) -> float:
        return 0.0 if v != v else float(v)

    keys = ("turn.tor", "timespeak.acc", "cuespeak.acc", "count.obo", "visual.hit_rate",
            "delegation.acc", "interrupt.stopped_rate")  # fmt: skip
    s = sum(nz(r[k]) for k in keys) + 1.0 - nz(r["pause.tor"])
    precision = r.get("delegation.precision", math.nan)
    s += 1.0 if precision != precision else float(precision)
    lat = r["turn.latency_median_s"]
    return s - (max(0.0, lat - 0.4) if not math.isnan(lat) else 1.0)


def calibrate(
    model: Any,
    grid: tuple[dict[str, float], ...] | list[dict[str, float]] = DEFAULT_GRID,
    *,
    n_per_kind: int = 2,
    kinds: list[str] | None = None,
    seed: int = CALIBRATION_SEED,
    progress: bool = False,
    workers: int = 1,
) -> tuple[dict[str, float], list[dict]]:
    """(best action_scales, [{"action_scales", "score", "result"} per grid point]).

    `model` is an InteractionModel or a checkpoint path; with `workers` > 1 the grid points run
    in that many processes (each loads the checkpoint, so `model` must then be a path)."""
    if not grid:
        raise ValueError("the calibration grid is empty")
    jobs = [(model, dict(scales), n_per_kind, kinds, seed) for scales in grid]
    if workers <= 1:
        from tqdm.auto import tqdm

        trials = [_trial(j) for j in tqdm(jobs, desc="calibrate", disable=not progress)]
    else:
        if not isinstance(model, (str, Path)):
            raise ValueError("calibrating with several workers needs the checkpoint's path")
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawned, not forked: forked workers hung for ever without starting (seen in session
        # 11 with calibrate_checkpoint(..., workers=2), whose parent loads the checkpoint first)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=spawn) as pool:
            trials = list(pool.map(_trial, jobs))
    best = max(trials, key=lambda t: t["score"])
    return best["action_scales"], trials


def _trial(job: tuple) -> dict:
    """Evaluate one grid point (model or checkpoint path, scales, n_per_kind, kinds, seed)."""
    from nbduplex.model.checkpoint import load_model
    from nbduplex.model.evaluate import evaluate
    from nbduplex.model.policy import InteractionModelPolicy

    model, scales, n_per_kind, kinds, seed = job
    if isinstance(model, (str, Path)):
        model = load_model(model, device="cpu")
    pol = InteractionModelPolicy(model, attribution=False, action_scales=scales)
    r = evaluate(pol, "train", n_per_kind=n_per_kind, kinds=kinds, seed=seed, progress=False)
    return {"action_scales": scales, "score": calibration_score(r), "result": r}
