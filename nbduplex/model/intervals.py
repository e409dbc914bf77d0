"""95 % intervals for the evaluation's rates, by resampling scenarios (a percentile bootstrap).

The events of one scenario are not independent (one voice, one room, one noise), so the unit
resampled is the scenario: each replicate draws as many scenarios as were run, with
replacement, and pools their events as `evaluate` does. The seed is fixed, so the same runs give
the same intervals. With 16 scenarios per kind a turn TOR near 0.9 has an interval about
+-0.05 wide: differences smaller than that between two policies or two checkpoints are noise.
"""

from __future__ import annotations

import numpy as np

RATES = ("pause.tor", "turn.tor", "interrupt.stopped_rate", "timespeak.acc", "cuespeak.acc",
         "count.obo", "visual.hit_rate", "delegation.acc", "agent_answer.acc")  # fmt: skip
_TASKS = {"timespeak.acc": "timespeak", "cuespeak.acc": "cuespeak", "count.obo": "count_obo",
          "visual.hit_rate": "visual_hit", "delegation.acc": "delegation",
          "agent_answer.acc": "agent_answer"}  # fmt: skip


def rate_counts(fd: dict, tasks: dict[str, list[float]]) -> dict[str, tuple[float, int]]:
    """One scenario's (hits, events) for each rate of `RATES`: `fd` is its Full-Duplex-Bench
    result (`nbduplex.metrics.evaluate`), `tasks` its `task_scores`."""
    events = {k: fd.get(k, {}).get("events", []) for k in ("pause", "turn", "interrupt")}
    spoken = [e for e in events["interrupt"] if e["model_speaking"]]
    out = {
        "pause.tor": (float(sum(e["tor"] for e in events["pause"])), len(events["pause"])),
        "turn.tor": (float(sum(e["tor"] for e in events["turn"])), len(events["turn"])),
        "interrupt.stopped_rate": (float(sum(e["stopped"] for e in spoken)), len(spoken)),
    }
    for rate, task in _TASKS.items():
        scores = tasks.get(task, [])
        out[rate] = (float(sum(scores)), len(scores))
    return out


def intervals(
    per_scenario: list[dict[str, tuple[float, int]]],
    level: float = 0.95,
    replicates: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """`{rate.lo, rate.hi}` for every rate with events: the central `level` interval of the
    pooled rate over `replicates` scenario resamples (NaN where no scenario has an event)."""
    out: dict[str, float] = {}
    if not per_scenario:
        return out
    rng = np.random.default_rng(seed)
    n = len(per_scenario)
    draws = rng.integers(0, n, size=(replicates, n))
    alpha = (1.0 - level) / 2.0
    for rate in RATES:
        hits = np.array([s.get(rate, (0.0, 0))[0] for s in per_scenario], np.float64)
        count = np.array([s.get(rate, (0.0, 0))[1] for s in per_scenario], np.float64)
        if count.sum() == 0:
            out[f"{rate}.lo"] = out[f"{rate}.hi"] = float("nan")
            continue
        h, c = hits[draws].sum(1), count[draws].sum(1)
        pooled = h[c > 0] / c[c > 0]  # a replicate that drew no event has no rate
        out[f"{rate}.lo"] = float(np.quantile(pooled, alpha))
        out[f"{rate}.hi"] = float(np.quantile(pooled, 1.0 - alpha))
    return out
