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
from typing import Any

# interject x respond scales tried (1.0 = as trained)
DEFAULT_GRID: tuple[dict[str, float], ...] = tuple(
    {"interject": i, "respond": r} for i in (1.0, 0.5, 0.25) for r in (1.0, 0.6)
)
CALIBRATION_SEED = 20_000  # seeds used here: distinct from training and from EVAL_SEED


def calibration_score(r: dict[str, float]) -> float:
    """Sum of the task scores (turn TOR, 1 - pause TOR, TimeSpeak, CueSpeak, counting OBO,
    visual hits, delegation, barge-in stops; NaN counts 0) minus the turn latency past 0.4 s."""

    def nz(v: float) -> float:
        return 0.0 if v != v else float(v)

    keys = ("turn.tor", "timespeak.acc", "cuespeak.acc", "count.obo", "visual.hit_rate",
            "delegation.acc", "interrupt.stopped_rate")  # fmt: skip
    s = sum(nz(r[k]) for k in keys) + 1.0 - nz(r["pause.tor"])
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
) -> tuple[dict[str, float], list[dict]]:
    """(best action_scales, [{"action_scales", "score", "result"} per grid point])."""
    from nbduplex.model.evaluate import evaluate
    from nbduplex.model.policy import InteractionModelPolicy

    if not grid:
        raise ValueError("the calibration grid is empty")
    trials = []
    for scales in grid:
        pol = InteractionModelPolicy(model, attribution=False, action_scales=dict(scales))
        r = evaluate(pol, "train", n_per_kind=n_per_kind, kinds=kinds, seed=seed, progress=progress)
        trials.append({"action_scales": dict(scales), "score": calibration_score(r), "result": r})
    best = max(trials, key=lambda t: t["score"])
    return best["action_scales"], trials
