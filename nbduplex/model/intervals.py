"""95 % intervals for the evaluation's rates, by resampling scenarios (a percentile bootstrap).

The events of one scenario are not independent (one voice, one room, one noise), so the unit
resampled is the scenario: each replicate draws as many scenarios as were run, with
replacement, and pools their events as `evaluate` does. The seed is fixed, so the same runs give
the same intervals. With 16 scenarios per kind a turn TOR near 0.9 has an interval about
+-0.05 wide. Two policies run on the same scenarios are compared by resampling the scenarios
together (`differences`, paired): that interval is narrower, since both see the same voices.
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
    draws = _draws(len(per_scenario), replicates, seed)
    for rate in RATES:
        hits, count = _counts(per_scenario, rate)
        if count.sum() == 0:
            out[f"{rate}.lo"] = out[f"{rate}.hi"] = float("nan")
            continue
        h, c = hits[draws].sum(1), count[draws].sum(1)
        ok = c > 0  # a replicate that drew no event has no rate
        out[f"{rate}.lo"], out[f"{rate}.hi"] = _central(h[ok] / c[ok], level)
    return out


def differences(
    per_a: list[dict[str, tuple[float, int]]],
    per_b: list[dict[str, tuple[float, int]]],
    level: float = 0.95,
    replicates: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """`{rate.diff, rate.diff.lo, rate.diff.hi}`: rate of A minus rate of B, two policies run on
    the same scenarios (in the same order), with the paired resampling interval."""
    if len(per_a) != len(per_b):
        raise ValueError(f"paired runs need the same scenarios: {len(per_a)} vs {len(per_b)}")
    out: dict[str, float] = {}
    if not per_a:
        return out
    draws = _draws(len(per_a), replicates, seed)
    for rate in RATES:
        (ha, ca), (hb, cb) = _counts(per_a, rate), _counts(per_b, rate)
        if ca.sum() == 0 or cb.sum() == 0:
            out[f"{rate}.diff"] = out[f"{rate}.diff.lo"] = out[f"{rate}.diff.hi"] = float("nan")
            continue
        out[f"{rate}.diff"] = float(ha.sum() / ca.sum() - hb.sum() / cb.sum())
        sa, na, sb, nb = (x[draws].sum(1) for x in (ha, ca, hb, cb))
        ok = (na > 0) & (nb > 0)
        diff = sa[ok] / na[ok] - sb[ok] / nb[ok]
        out[f"{rate}.diff.lo"], out[f"{rate}.diff.hi"] = _central(diff, level)
    return out


def _draws(n: int, replicates: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(replicates, n))


def _counts(per_scenario: list[dict], rate: str) -> tuple[np.ndarray, np.ndarray]:
    hits = np.array([s.get(rate, (0.0, 0))[0] for s in per_scenario], np.float64)
    count = np.array([s.get(rate, (0.0, 0))[1] for s in per_scenario], np.float64)
    return hits, count


def _central(values: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(values, alpha)), float(np.quantile(values, 1.0 - alpha))
