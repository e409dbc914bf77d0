"""Scenario-bootstrap intervals of the evaluation's rates (`model/intervals.py`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.model.intervals import RATES, differences, intervals, rate_counts


def _scenario(turn_hits: int, turns: int) -> dict[str, tuple[float, int]]:
    return {"turn.tor": (float(turn_hits), turns)}


def test_identical_scenarios_give_a_point():
    r = intervals([_scenario(3, 4)] * 20)
    assert r["turn.tor.lo"] == r["turn.tor.hi"] == 0.75
    assert math.isnan(r["pause.tor.lo"]) and math.isnan(r["pause.tor.hi"])  # no pause events
    assert set(r) == {f"{rate}.{end}" for rate in RATES for end in ("lo", "hi")}


def test_one_event_per_scenario_matches_the_binomial_interval():
    rng = np.random.default_rng(1)
    per = [_scenario(int(x), 1) for x in rng.random(400) < 0.5]
    r = intervals(per)
    p = sum(s["turn.tor"][0] for s in per) / len(per)
    half = 1.96 * math.sqrt(p * (1 - p) / len(per))  # the normal approximation, about 0.049
    assert r["turn.tor.lo"] < p < r["turn.tor.hi"]
    assert abs((r["turn.tor.hi"] - r["turn.tor.lo"]) - 2 * half) < 0.015
    again = intervals(per)  # a fixed seed: the same runs give the same interval
    assert (again["turn.tor.lo"], again["turn.tor.hi"]) == (r["turn.tor.lo"], r["turn.tor.hi"])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=30))
def test_the_pooled_rate_lies_inside_its_interval(counts):
    per = [_scenario(min(h, n), n) for h, n in counts]
    total = sum(s["turn.tor"][1] for s in per)
    r = intervals(per, replicates=500)
    if total == 0:
        assert math.isnan(r["turn.tor.lo"])
        return
    pooled = sum(s["turn.tor"][0] for s in per) / total
    assert 0.0 <= r["turn.tor.lo"] <= pooled + 1e-9 and pooled - 1e-9 <= r["turn.tor.hi"] <= 1.0


def test_paired_differences_of_two_policies_on_the_same_scenarios():
    rng = np.random.default_rng(2)
    hard = rng.random(200) < 0.4  # a scenario both policies find hard: they both miss there
    a = [_scenario(0 if h else 4, 4) for h in hard]
    b = [_scenario(0 if h else 3, 4) for h in hard]  # B misses one more where it is easy
    d = differences(a, b)
    expected = (sum(s["turn.tor"][0] for s in a) - sum(s["turn.tor"][0] for s in b)) / 800
    assert d["turn.tor.diff"] == pytest.approx(expected)
    assert 0 < d["turn.tor.diff.lo"] < expected < d["turn.tor.diff.hi"]
    # pairing removes the scenarios' shared difficulty: narrower than either rate's own interval
    ra = intervals(a)
    assert d["turn.tor.diff.hi"] - d["turn.tor.diff.lo"] < ra["turn.tor.hi"] - ra["turn.tor.lo"]
    same = differences(a, a)
    assert same["turn.tor.diff"] == same["turn.tor.diff.lo"] == same["turn.tor.diff.hi"] == 0
    assert math.isnan(same["pause.tor.diff"])  # no pause events
    with pytest.raises(ValueError, match="same scenarios"):
        differences(a, b[:-1])


def test_rate_counts_reads_events_and_task_scores():
    fd = {
        "turn": {"events": [{"tor": 1}, {"tor": 0}, {"tor": 1}]},
        "pause": {"events": [{"tor": 0}]},
        "interrupt": {"events": [{"model_speaking": True, "stopped": 1},
                                 {"model_speaking": False, "stopped": 0}]},
    }  # fmt: skip
    c = rate_counts(fd, {"timespeak": [1.0, 0.0], "count_obo": [1.0]})
    assert c["turn.tor"] == (2.0, 3) and c["pause.tor"] == (0.0, 1)
    assert c["interrupt.stopped_rate"] == (1.0, 1)  # only barge-ins while the model spoke
    assert c["timespeak.acc"] == (1.0, 2) and c["count.obo"] == (1.0, 1)
    assert c["cuespeak.acc"] == (0.0, 0)


def test_nbduplex_eval_prints_each_rate_with_its_interval(tmp_path, capsys):
    """`nbduplex eval` on real scenarios (two cascades, one per kind): the printed table shows
    "rate [lo, hi]", then each policy's paired difference from the first; the CSV keeps the
    numbers."""
    import pandas as pd

    from nbduplex.model.evaluate import eval_main

    csv = tmp_path / "eval.csv"
    policies = ["--policy", "energy-vad", "--policy", "webrtc-vad"]
    df = eval_main([*policies, "--split", "heldout", "--n-per-kind", "1", "--csv", str(csv)])
    table, diffs = capsys.readouterr().out.split("differences from energy-vad (paired")
    turn = next(line for line in table.splitlines() if line.startswith("turn.tor"))
    assert turn.count("[") == 2 and turn.endswith("]")  # one interval per policy
    assert "webrtc-vad - energy-vad / heldout" in diffs
    turn = next(line for line in diffs.splitlines() if line.startswith("turn.tor"))
    assert turn.count("[") == 1 and turn.split()[1][0] in "+-"
    saved = pd.read_csv(csv, index_col=0)
    row = saved.loc["energy-vad / heldout"]
    assert row["turn.tor.lo"] <= row["turn.tor"] <= row["turn.tor.hi"]
    assert df.loc["webrtc-vad / heldout", "scenarios"] == 9
