"""FD-bench v1 metrics on hand-built trace rows with known answers, plus property tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.metrics import (
    backchannel,
    count_words,
    evaluate,
    model_segments,
    pause_handling,
    smooth_turn_taking,
    speech_runs,
    summarize,
    table,
    takes_turn,
    user_interruption,
    window_speech,
)


def rows(n: int, speaking: set[int] | range, texts: dict[int, str] | None = None) -> list[dict]:
    """Trace rows: micro-turn k is audible when k in `speaking`; texts[k] is decided at row k
    (so it starts in output chunk k + 1, the first speaking row of its run)."""
    texts = texts or {}
    return [
        {"seq": k, "t": round(k * 0.2, 6), "action": "listen", "speaking": k in speaking,
         "text": texts.get(k, "")}
        for k in range(n)
    ]  # fmt: skip


# -- segments and the TOR rule ------------------------------------------------------------------


def test_runs_words_and_merging():
    r = rows(40, {5, 6, 7, 10, 11, 20, 21, 22, 23}, {4: "hello there you", 9: "and more", 19: "x"})
    runs = speech_runs(r)
    assert [(s.start, s.end, s.words) for s in runs] == [
        (1.0, 1.6, 3),
        (2.0, 2.4, 2),
        (4.0, 4.8, 1),
    ]
    merged = model_segments(r)  # gap 0.4 s merges, gap 1.6 s does not
    assert [(s.start, s.end, s.words) for s in merged] == [(1.0, 2.4, 5), (4.0, 4.8, 1)]
    assert [(s.start, s.end) for s in model_segments(r, merge_gap=0.2)] == [
        (1.0, 1.6),
        (2.0, 2.4),
        (4.0, 4.8),
    ]
    # 0.6 s gap: not merged at the FD-bench 0.5 s
    assert len(model_segments(rows(20, {1, 2, 6, 7}))) == 2
    assert len(model_segments(rows(20, {1, 2, 5, 6}))) == 1  # gap exactly 0.4 s


def test_count_words():
    assert count_words("Okay, I hear you.") == 4
    assert count_words("mm-hm") == 1
    assert count_words(" ... , ") == 0
    assert count_words(None) == 0


@pytest.mark.parametrize(
    ("n_rows", "words", "tor"),
    [
        (5, 0, True),  # exactly 1.0 s
        (4, 4, True),  # 0.8 s with 4 words
        (4, 3, False),  # 0.8 s with 3 words
        (1, 0, False),
        (10, 1, True),
    ],
)
def test_tor_boundaries(n_rows, words, tor):
    text = " ".join(["word"] * words)
    r = rows(30, range(10, 10 + n_rows), {9: text})
    assert smooth_turn_taking(r, [1.8])["tor"] == float(tor)
    assert pause_handling(r, [(1.9, 2.3)])["tor"] == float(tor)
    assert takes_turn(n_rows * 0.2, words) is tor


def test_turn_latency_clipped_and_averaged_over_takers():
    # turn ends at 2.0: reply at 2.6 (latency 0.6); turn end 6.0: reply starts early at 5.8
    # (clipped to 0); turn end 10.0: only a 0.2 s "mm" (TOR 0, no latency)
    r = rows(80, set(range(13, 19)) | set(range(29, 36)) | {51}, {50: "mm"})
    res = smooth_turn_taking(r, [2.0, 6.0, 10.0])
    assert [e["tor"] for e in res["events"]] == [1, 1, 0]
    assert res["events"][0]["latency"] == pytest.approx(0.6)
    assert res["events"][1]["latency"] == 0.0
    assert res["events"][2]["latency"] is None
    assert res["tor"] == pytest.approx(2 / 3) and res["latency"] == pytest.approx(0.3)
    # too early for the lead (starts 1 s before the turn end): not this event's reply
    assert smooth_turn_taking(rows(40, range(5, 15)), [2.0])["tor"] == 0.0
    # the per-event window bounds where a reply may start
    r = rows(40, range(20, 30))
    assert smooth_turn_taking(r, [2.0], window=1.0)["tor"] == 0.0
    assert smooth_turn_taking(r, [2.0], window=[2.0])["tor"] == 1.0


def test_pause_handling():
    r = rows(60, range(20, 26))  # the model talks 4.0-5.2
    res = pause_handling(r, [(1.0, 1.6), (3.8, 4.4), (5.6, 6.0)])
    assert [e["tor"] for e in res["events"]] == [0, 1, 0]
    assert res["tor"] == pytest.approx(1 / 3) and res["n"] == 3
    # a reply decided in the pause but audible just after it ends still counts
    assert pause_handling(r, [(3.0, 3.7)])["tor"] == 1.0
    assert math.isnan(pause_handling(r, [])["tor"])  # no events: NaN, not a perfect 0


def test_user_interruption():
    # the model talks 0.4-3.0; the user interrupts 1.0-2.0; the model falls silent at 1.4,
    # then answers at 2.6 for 1.2 s
    speaking = set(range(2, 7)) | set(range(13, 19))
    res = user_interruption(rows(40, speaking), [(1.0, 2.0)])
    (e,) = res["events"]
    assert e["model_speaking"] and e["stop_latency"] == pytest.approx(0.4)
    assert e["stopped"] == 1 and e["overlap_s"] == pytest.approx(0.4)
    assert e["tor"] == 1 and e["latency"] == pytest.approx(0.6)
    # a model that talks through it: stop latency runs to its end, not stopped, no response
    res = user_interruption(rows(40, range(2, 20)), [(1.0, 2.0)], stop_within=0.4)
    (e,) = res["events"]
    assert e["stop_latency"] == pytest.approx(3.0) and e["stopped"] == 0
    assert e["overlap_s"] == pytest.approx(1.0) and e["tor"] == 0 and e["latency"] is None
    # the model was quiet when the user started: 0 stop latency, excluded from the stop rate
    res = user_interruption(rows(40, set()), [(1.0, 2.0)])
    assert res["events"][0]["stop_latency"] == 0.0 and math.isnan(res["stopped_rate"])


def test_backchannel():
    # 10 s; two short segments (0.4 s, 0.6 s) and one long (4 s)
    r = rows(50, {5, 6} | {20, 21, 22} | set(range(30, 50)), {4: "mm-hm", 19: "yeah"})
    res = backchannel(r, opportunities=[0.9, (3.8, 4.0), 8.0])
    assert res["count"] == 2 and res["frequency"] == pytest.approx(0.2)
    assert res["tor"] == 1  # the 4 s segment is formal speech
    assert res["hit_rate"] == pytest.approx(2 / 3)
    short_only = backchannel(rows(50, {5, 6, 20}, {4: "mm-hm"}))
    assert short_only["tor"] == 0 and short_only["frequency"] == pytest.approx(0.2)
    assert backchannel(r, span=(0.0, 2.0))["count"] == 1


def test_bad_inputs():
    with pytest.raises(ValueError):
        pause_handling(rows(5, set()), [(2.0, 1.0)])
    with pytest.raises(ValueError):
        smooth_turn_taking(rows(5, set()), [float("nan")])
    with pytest.raises(ValueError):
        smooth_turn_taking(rows(5, set()), [1.0, 2.0], window=[1.0])
    with pytest.raises(ValueError):
        speech_runs([{"seq": 0, "t": 0.0}])  # no 'speaking'
    with pytest.raises(TypeError):
        speech_runs([1, 2])
    with pytest.raises(ValueError):
        user_interruption(rows(5, set()), [(1.0, float("inf"))])


def test_evaluate_reads_labels_and_summarizes():
    r = rows(60, set(range(13, 19)) | {40}, {12: "okay I hear you", 39: "mm"})
    labels = {
        "duration": 12.0,
        "speech": [{"start": 0.5, "end": 2.0, "text": "hi"}, {"start": 3.0, "end": 5.0}],
        "pauses": [{"start": 1.0, "end": 1.4}],
        "turn_ends": [2.0, 5.0],
        "interruptions": [],
        "backchannels": [{"start": 7.8, "end": 8.0}],
    }
    res = evaluate(r, labels)
    assert set(res) == {"pause", "turn", "backchannel"}
    flat = summarize(res)
    assert flat["pause.tor"] == 0.0
    assert flat["turn.tor"] == 0.5 and flat["turn.latency_s"] == pytest.approx(0.6)
    assert flat["backchannel.hit_rate"] == 1.0
    # FD-bench counts every segment <= 3 s, so the 1.2 s reply counts as well as the "mm"
    assert flat["backchannel.freq_per_s"] == pytest.approx(2 / 12)
    # the window of the first turn end is cut at the next user speech (3.0 s)
    r2 = rows(60, range(16, 22))  # a reply at 3.2 s belongs to no one
    assert summarize(evaluate(r2, labels))["turn.tor"] == 0.0
    df = table({"a": flat, "b": summarize(evaluate(r2, labels))})
    assert list(df.index) == ["a", "b"] and "turn.tor" in df.columns
    with pytest.raises(TypeError):
        evaluate(r, 3)


def test_evaluate_on_a_real_trace():
    trace_mod = pytest.importorskip("nbduplex.trace")
    from nbduplex.decision import Decision
    from nbduplex.microturn import MicroTurn

    tr = trace_mod.Trace()
    for k in range(20):
        out = np.full(3200, 1000, np.int16) if 8 <= k < 14 else None
        tr.append(MicroTurn(k, np.zeros(3200, np.int16)), Decision(), out)
    assert [(s.start, s.end) for s in speech_runs(tr)] == [(1.6, 2.8)]
    assert evaluate(tr, {"turn_ends": [1.2]})["turn"]["latency"] == pytest.approx(0.4)


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=80), st.floats(0.0, 1.0))
def test_segment_invariants(flags, gap):
    r = rows(len(flags), {k for k, f in enumerate(flags) if f})
    runs = speech_runs(r)
    assert sum(s.duration for s in runs) == pytest.approx(0.2 * sum(flags))
    segs = model_segments(r, merge_gap=gap)
    for a, b in zip(segs, segs[1:], strict=False):
        assert b.start - a.end > gap - 1e-6  # merged segments are separated by > gap
    assert all(s.duration > 0 for s in segs)
    assert sum(s.duration for s in segs) >= sum(s.duration for s in runs) - 1e-6


@given(st.floats(0.0, 10.0), st.integers(0, 20), st.floats(0.0, 5.0), st.integers(0, 5))
def test_takes_turn_is_monotone(duration, words, more_s, more_words):
    if takes_turn(duration, words):
        assert takes_turn(duration + more_s, words + more_words)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.floats(0.0, 12.0))
def test_latency_never_negative(flags, turn_end):
    r = rows(len(flags), {k for k, f in enumerate(flags) if f})
    res = smooth_turn_taking(r, [turn_end])
    e = res["events"][0]
    assert e["latency"] is None or e["latency"] >= 0.0
    assert (e["latency"] is not None) == bool(e["tor"])
    w = window_speech(speech_runs(r), turn_end - 0.5, turn_end + 3.0)
    assert bool(e["tor"]) == w.tor
