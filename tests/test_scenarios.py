"""Scenario generator: determinism, label consistency, the Source, files written and read back."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, SAMPLE_RATE, MicroTurn, rms_dbfs
from nbduplex.scenarios import (
    SCENARIO_KINDS,
    Labels,
    generate_mixture,
    generate_scenario,
    heldout_voices,
    pico_voices,
    train_voices,
)
from nbduplex.sources.base import Source
from nbduplex.tts import clear_cache, festival, flite, pico

CLEAN = {"snr_db": 30.0, "room": "dry"}


def _level(audio: np.ndarray, a: float, b: float) -> float:
    return rms_dbfs(audio[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)])


def _check_labels(sc) -> None:
    lab = sc.labels
    assert lab.duration == pytest.approx(sc.n_turns * MICROTURN_S)
    assert len(sc.audio) == sc.n_turns * CHUNK_SAMPLES and sc.audio.dtype == np.int16
    for s in lab.speech:
        assert 0 <= s.start < s.end <= lab.duration
        starts = [w[1] for w in s.words]
        assert starts == sorted(starts)
        assert all(s.start - 1e-6 <= ws <= we <= s.end + 1e-6 for _, ws, we in s.words)
    for i, turn in enumerate(lab.turns):
        segs = [s for s in lab.speech if s.turn == i]
        assert segs, f"turn {i} has no speech"
        assert turn.end == pytest.approx(max(s.end for s in segs))  # ends when speech ends
        assert turn.start == pytest.approx(min(s.start for s in segs))
    for p in lab.pauses:  # inside a turn, with no speech in it
        assert any(t.start < p.start < p.end < t.end for t in lab.turns)
        assert not any(s.start < p.end and p.start < s.end for s in lab.speech)
    for e in lab.expected:
        assert 0 <= e.seq < sc.n_turns
        assert e.action in {"respond", "backchannel", "interject", "yield", "delegate"}
    for c in lab.cues:
        assert any(w[0].lower() == c.word for s in lab.speech for w in s.words)
    for i in lab.interruptions:
        assert i.model_from < i.start < i.end
    json.dumps(lab.to_dict())  # JSON-serialisable


@pytest.mark.parametrize("kind", list(SCENARIO_KINDS))
def test_each_kind_generates_consistent_labels(kind):
    sc = generate_scenario(kind, 3, **CLEAN)
    _check_labels(sc)
    assert sc.labels.kind == kind and sc.labels.expected, "every kind expects some action"
    assert len(sc.frames) == sc.n_turns and sc.frames[0][0].shape == (96, 128, 3)
    target = sc.target_actions()
    assert len(target) == sc.n_turns and set(target) - {"listen"}


def test_same_seed_same_arrays_whatever_ran_before():
    a = generate_scenario("turn_taking", 7)
    clear_cache()  # synthesis runs again, after other speech was synthesised
    generate_scenario("cuespeak", 1)
    b = generate_scenario("turn_taking", 7)
    assert np.array_equal(a.audio, b.audio)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a.frames, b.frames, strict=True))
    assert a.labels.to_dict() == b.labels.to_dict() and a.text_events == b.text_events
    c = generate_scenario("turn_taking", 8)
    assert not np.array_equal(a.audio[: len(c.audio)], c.audio[: len(a.audio)])


def test_speech_is_louder_than_pauses_and_silence():
    sc = generate_scenario("pause_handling", 2, **CLEAN)
    lab = sc.labels
    speech = np.mean([_level(sc.audio, s.start, s.end) for s in lab.speech])
    pauses = [p for p in lab.pauses if p.end - p.start > 0.15]
    assert pauses
    quiet = np.mean([_level(sc.audio, p.start + 0.05, p.end - 0.05) for p in pauses])
    assert speech > quiet + 15  # 30 dB SNR, dry room


def test_turn_taking_has_fillers_pauses_and_gaps():
    found = {"pause": 0, "filler": 0, "cutoff": 0}
    for seed in range(4):
        lab = generate_scenario("turn_taking", seed, frames_per_turn=0, **CLEAN).labels
        found["pause"] += len(lab.pauses)
        found["cutoff"] += sum(s.role == "cutoff" for s in lab.speech)
        found["filler"] += sum(f" {w}," in s.text for s in lab.speech for w in ("um", "uh", "er"))
        for a, b in zip(lab.turns, lab.turns[1:], strict=False):
            assert b.start - a.end >= 1.5  # the gap where a model answers
        assert all(0.2 <= p.end - p.start <= 1.5 or p.end - p.start <= 0.3 for p in lab.pauses)
    assert all(v > 0 for v in found.values()), found


def test_interruption_barges_in_while_model_would_talk():
    lab = generate_scenario("interruption", 4, **CLEAN).labels
    assert lab.interruptions
    for i in lab.interruptions:
        before = max(t for t in lab.turn_ends if t < i.start)
        assert 0.5 <= i.start - before <= 2.0 + 1e-6
        assert any(e.action == "yield" and abs(e.t - i.start) < 1e-6 for e in lab.expected)


def test_timespeak_cuespeak_counting_delegation_ground_truth():
    ts = generate_scenario("timespeak", 5, **CLEAN).labels
    ins = ts.instructions[0]
    due = [e for e in ts.expected if e.cause == "timespeak"]
    step = ins.delay_s or ins.every_s
    assert due and due[0].t == pytest.approx(ins.t + step) and due[0].text == ins.say
    assert (due[0].seq + 1) * MICROTURN_S == pytest.approx(due[0].t, abs=0.1 + 1e-6)

    cs = generate_scenario("cuespeak", 5, **CLEAN).labels
    cue = cs.cues[0]
    hit = [e for e in cs.expected if e.cause == "cue"][0]
    assert cue.word == cs.instructions[0].cue and hit.t == cue.end
    assert cue.end <= hit.seq * MICROTURN_S < cue.end + MICROTURN_S

    ct = generate_scenario("counting", 5, **CLEAN).labels
    m = ct.motion[0]
    counts = [e for e in ct.expected if e.cause == "count"]
    assert len(counts) == m.count == len(m.rep_times) and counts[-1].t == m.end

    dl = generate_scenario("delegation", 5, **CLEAN).labels
    d = dl.delegations[0]
    assert str(eval(d.task.replace("/", "//"))) == d.answer  # noqa: S307 (our own arithmetic)


@pytest.mark.parametrize("seed", [0, 1, 5, 9])  # plus, minus, times, divided by
def test_the_simulated_agent_answers_in_the_real_agents_words(seed):
    """The delegation scenario's agent result is what the built-in agent answers for the
    spoken question (so the eval counts the answer the product would say)."""
    from nbduplex.agent import BackgroundAgent

    sc = generate_scenario("delegation", seed, **CLEAN)
    said = [e.text for _, e in sc.text_events if e.role == "agent"]
    expected = [e.text for e in sc.labels.expected if e.cause == "agent_result"]
    agent = BackgroundAgent()
    try:
        agent.submit(sc.labels.delegations[0].question, at=0.0)
        assert agent.wait(5.0)
        real = [e.text for e in agent.drain_results()]
    finally:
        agent.detach()
    assert said == expected == real, (said, expected, real)


def test_visual_event_appears_in_frames_at_its_time():
    sc = generate_scenario("visual_event", 6, **CLEAN)
    ev = sc.labels.visual_events[0]
    k = int(np.ceil(ev.t / MICROTURN_S)) - 1  # first micro-turn whose frame is after ev.t
    first = sc.frames[0][0].astype(int)
    changed = [
        int((np.abs(f[0].astype(int) - first) > 40).any(axis=2).sum()) for f in sc.frames
    ]  # pixels that changed by more than sensor noise
    assert max(changed[:k]) == 0 and min(changed[k:]) > 20


def test_source_yields_microturns_with_text_at_the_right_seq():
    sc = generate_scenario("timespeak", 1, **CLEAN)
    typed = generate_scenario("delegation", 2, **CLEAN)  # has an agent text event
    for s in (sc, typed):
        src = s.source()
        assert isinstance(src, Source) and not src.live and src.duration == s.duration
        turns = list(src)
        assert [t.seq for t in turns] == list(range(s.n_turns))
        assert all(isinstance(t, MicroTurn) and t.audio.shape == (CHUNK_SAMPLES,) for t in turns)
        assert np.array_equal(np.concatenate([t.audio for t in turns]), s.audio)
        for t_ev, ev in s.text_events:
            k = int(np.floor(t_ev / MICROTURN_S + 1e-9))
            assert ev in turns[k].text
        assert sum(len(t.text) for t in turns) == len(s.text_events)


def test_source_close_stops_iteration():
    src = generate_scenario("visual_event", 1, **CLEAN).source()
    it = iter(src)
    next(it)
    src.close()
    assert list(it) == []


def test_write_and_read_back(tmp_path):
    sc = generate_scenario("counting", 3, **CLEAN)
    d = sc.write(tmp_path / "sc")
    audio, rate = sf.read(d / "input.wav", dtype="int16")
    assert rate == SAMPLE_RATE and np.array_equal(audio, sc.audio)
    with av.open(str(d / "video.y4m")) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert c.streams.video[0].average_rate == 5
    assert len(frames) == sc.n_turns
    err = np.mean(
        [np.abs(f.astype(int) - g[0]).mean() for f, g in zip(frames, sc.frames, strict=True)]
    )
    assert err < 6  # colour conversion and 4:2:0 chroma only
    lab = Labels.from_dict(json.loads((d / "labels.json").read_text()))
    assert lab == sc.labels
    text = json.loads((d / "text.json").read_text())
    assert [(e["t"], e["text"]) for e in text] == [(t, e.text) for t, e in sc.text_events]


def test_narrowband_channel_removes_the_high_band_and_nothing_else():
    """bandwidth_hz low-pass filters the speech only; the same seed keeps every other choice."""

    def high_share(x):  # share of the energy above 4.2 kHz
        spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
        return spec[np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE) > 4200].sum() / spec.sum()

    opts = {"snr_db": float("inf"), "room": "dry"}
    full = generate_scenario("turn_taking", 3, **opts)
    narrow = generate_scenario("turn_taking", 3, bandwidth_hz=3400.0, **opts)
    assert high_share(narrow.audio) < 1e-3 * high_share(full.audio)
    assert narrow.labels.room == {"type": "dry", "bandwidth_hz": 3400.0}
    assert narrow.labels.turn_ends == full.labels.turn_ends
    assert narrow.labels.voice == full.labels.voice
    default = generate_scenario("turn_taking", 3, bandwidth_hz=None)
    assert np.array_equal(default.audio, generate_scenario("turn_taking", 3).audio)


def test_mixture_chains_kinds():
    sc = generate_mixture(4, n_kinds=3, kinds=["visual_event", "timespeak", "delegation"], **CLEAN)
    _check_labels(sc)
    assert sc.labels.kind == "mixture" and len(sc.labels.tasks) == 3
    causes = {e.cause for e in sc.labels.expected}
    assert {"visual", "timespeak", "delegation"} <= causes


def test_voice_pools_are_disjoint_and_selectable():
    train, held = set(train_voices()), set(heldout_voices())
    assert train and held and not train & held
    sc = generate_scenario("turn_taking", 1, voices="heldout", **CLEAN)
    assert sc.labels.voice["voice"] in held
    assert all(s.voice in held for s in sc.labels.speech)
    one = generate_scenario("delegation", 1, voices=["en-us+f3"], **CLEAN)
    assert {s.voice for s in one.labels.speech} == {"en-us+f3"}


@pytest.mark.skipif(not flite.available(), reason="flite binary not installed")
def test_flite_scenarios_cross_synthesiser():
    sc = generate_scenario("cuespeak", 2, synth="flite", **CLEAN)
    _check_labels(sc)
    assert {s.synth for s in sc.labels.speech} == {"flite"}


@pytest.mark.skipif(not festival.available(), reason="festival voice not installed")
def test_festival_scenarios_development_set():
    sc = generate_scenario("cuespeak", 2, synth="festival", **CLEAN)
    _check_labels(sc)
    assert {s.voice for s in sc.labels.speech} == {"ked_diphone"}


@pytest.mark.skipif(not pico.available(), reason="py-nanotts not installed")
@pytest.mark.parametrize("kind", ["cuespeak", "pause_handling"])
def test_pico_scenarios_for_training_the_listeners(kind):
    sc = generate_scenario(kind, 5, synth="pico", voices="train", **CLEAN)
    _check_labels(sc)
    users = [s for s in sc.labels.speech if s.role != "model"]
    assert {s.synth for s in users} == {"pico"} and {s.voice for s in users} <= set(pico_voices())


@pytest.mark.parametrize(
    ("call", "err"),
    [
        (lambda: generate_scenario("nope", 1), ValueError),
        (lambda: generate_scenario("turn_taking", 1, bogus=3), TypeError),
        (lambda: generate_scenario("turn_taking", 1, voices="other"), ValueError),
        (lambda: generate_scenario("turn_taking", 1, voices=[]), ValueError),
        (lambda: generate_scenario("turn_taking", 1, noise="thunder"), ValueError),
        (lambda: generate_mixture(1, kinds=["nope"]), ValueError),
        (lambda: generate_mixture(1, n_kinds=0), ValueError),
        (lambda: generate_scenario("turn_taking", 1, bandwidth_hz=9000), ValueError),
    ],
)
def test_bad_arguments(call, err):
    with pytest.raises(err):
        call()


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), kind=st.sampled_from(sorted(SCENARIO_KINDS)))
def test_labels_hold_for_any_seed(seed, kind):
    _check_labels(generate_scenario(kind, seed, frames_per_turn=0))
