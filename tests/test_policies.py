"""VADs on real speech, cascades on micro-turn streams ("frames in, frames out"), scripts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.decision import ACTIONS, Action, Decision
from nbduplex.microturn import SAMPLE_RATE, MicroTurn, conform_audio, split_chunks
from nbduplex.policies import (
    PRESETS,
    CascadeConfig,
    CascadePolicy,
    EnergyVAD,
    ScriptedPolicy,
    SilentPolicy,
    SileroVAD,
    WebRTCVAD,
    make_preset,
    make_vad,
)
from nbduplex.policy import Policy, resolve_policy

# -- signals ------------------------------------------------------------------------------------


def silence(s: float) -> np.ndarray:
    return np.zeros(round(s * SAMPLE_RATE), np.int16)


def tone(s: float, db: float = -12.0) -> np.ndarray:
    """A 220 Hz tone with a 4 Hz syllable-like envelope: 'speech' for the energy VAD."""
    t = np.arange(round(s * SAMPLE_RATE)) / SAMPLE_RATE
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    x = 10 ** (db / 20) * env * np.sin(2 * np.pi * 220 * t)
    return (x * 32767).astype(np.int16)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """About 3 s of espeak-ng speech, 16 kHz int16, silence trimmed."""
    from nbduplex.tts import synthesize

    u = synthesize("Hello there, this is a test of the speech detector, one two three.")
    return np.asarray(u.trimmed().audio, np.int16)


def turns(audio: np.ndarray, model_speaking: set[int] | None = None) -> list[MicroTurn]:
    ms = model_speaking or set()
    return [
        MicroTurn(k, conform_audio(c)[0], model_speaking=k in ms)
        for k, c in enumerate(split_chunks(audio))
    ]


def run(policy, audio: np.ndarray, model_speaking: set[int] | None = None) -> list[Decision]:
    policy.reset()
    return [policy.step(t) for t in turns(audio, model_speaking)]


def acts(decisions: list[Decision]) -> list[tuple[int, str]]:
    return [(k, d.action.value) for k, d in enumerate(decisions) if d.action is not Action.LISTEN]


def energy_cascade(**kw) -> CascadePolicy:
    return CascadePolicy(CascadeConfig(vad="energy", **kw))


# -- VADs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vad", [SileroVAD(), WebRTCVAD(0), WebRTCVAD(2), WebRTCVAD(3), EnergyVAD()], ids=repr
)
def test_vad_speech_high_silence_low(vad, speech):
    vad.reset()
    sil = [vad.process(c) for c in split_chunks(silence(1.0))]
    sp = [vad.process(conform_audio(c)[0]) for c in split_chunks(speech)]
    assert max(sil) < 0.1
    assert np.mean(sp) > 0.6, sp
    assert vad.frame_probs and all(0.0 <= p <= 1.0 for p in vad.frame_probs)


@pytest.mark.parametrize("vad", [SileroVAD(), EnergyVAD()], ids=repr)
def test_vad_steady_noise_low(vad):
    noise = (np.random.default_rng(0).normal(0, 0.02, 3 * SAMPLE_RATE) * 32767).astype(np.int16)
    vad.reset()
    probs = [vad.process(c) for c in split_chunks(noise)]
    assert np.mean(probs) < 0.2, probs


def test_silero_frames_carry_across_chunks_and_streaming_equals_offline(speech):
    a = np.concatenate([silence(0.3), speech])
    vad = SileroVAD()
    per_chunk = []
    for c in split_chunks(a):
        vad.process(c)
        per_chunk.append(len(vad.frame_probs))
        assert vad.frame_end_s <= (sum(map(len, split_chunks(a)[: len(per_chunk)]))) / 16000
    assert set(per_chunk[:-1]) <= {6, 7}  # 3200 / 512 = 6.25 frames per micro-turn
    assert sum(per_chunk) == len(a) // 512
    stream = []
    vad.reset()
    for c in split_chunks(a):
        vad.process(c)
        stream += vad.frame_probs
    vad.reset()
    vad.process(a)  # one call over everything
    np.testing.assert_allclose(stream, vad.frame_probs, atol=1e-6)
    assert SileroVAD.frame_samples / SAMPLE_RATE == vad.frame_s == 0.032


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(0, 16000), max_size=6))
def test_webrtc_and_energy_chunking_invariant(cuts):
    a = np.concatenate([silence(0.2), tone(0.6), silence(0.2)])
    for make in (lambda: WebRTCVAD(2), EnergyVAD):
        ref = make()
        ref.process(a)
        v = make()
        got: list[float] = []
        for piece in np.split(a, sorted(cuts)):
            v.process(piece)
            got += v.frame_probs
        np.testing.assert_allclose(got, ref.frame_probs, atol=1e-6)


def test_vad_bad_input():
    vad = EnergyVAD()
    with pytest.raises(TypeError):
        vad.process(np.zeros(3200, np.float32))
    with pytest.raises(ValueError):
        vad.process(np.zeros((3200, 2), np.int16))
    assert vad.process(np.zeros(0, np.int16)) == 0.0  # nothing completed: last value
    with pytest.raises(ValueError):
        WebRTCVAD(aggressiveness=4)
    with pytest.raises(ValueError):
        WebRTCVAD(frame_ms=25)
    with pytest.raises(ValueError):
        make_vad("nope")
    assert isinstance(make_vad("webrtc", aggressiveness=3), WebRTCVAD)


# -- cascade timing -----------------------------------------------------------------------------


@pytest.mark.parametrize("silence_ms", [300, 500, 800])
@pytest.mark.parametrize("speech_end", [1.2, 1.3])
def test_cascade_responds_after_silence_ms(silence_ms, speech_end):
    audio = np.concatenate([silence(0.4), tone(speech_end - 0.4), silence(3.0)])
    d = run(energy_cascade(silence_ms=silence_ms, prefix_ms=200), audio)
    assert [a for _, a in acts(d)] == ["respond"]
    k = acts(d)[0][0]
    starts = (k + 1) * 0.2  # the reply becomes audible at t + 0.2
    due = speech_end + silence_ms / 1000
    assert due - 1e-6 <= starts <= due + 0.2 + 0.02 + 1e-6  # within one micro-turn (+1 frame)
    assert d[k].text == "Okay, I hear you."
    (key,) = [x for x in d[k].attribution if x != "audio"]
    a, b = (float(v.rstrip("s")) for v in key[len("audio[") : -1].split(","))
    assert b - a == pytest.approx(silence_ms / 1000, abs=0.021)  # the triggering silence
    assert -0.2 - 1e-6 <= b <= 0.0
    assert d[k].probs["respond"] == 1.0


def test_cascade_ignores_shorter_pause_and_rotates_replies():
    cfg = dict(silence_ms=500, prefix_ms=200, replies=("one", "two"))
    audio = np.concatenate(
        [silence(0.4), tone(1.0), silence(0.4), tone(1.0), silence(1.0), tone(0.8), silence(1)]
    )
    d = run(energy_cascade(**cfg), audio)
    got = acts(d)
    assert [a for _, a in got] == ["respond", "respond"]
    assert got[0][0] * 0.2 + 0.2 >= 2.8 + 0.5 - 1e-6  # not in the 0.4 s pause (ends at 2.8)
    assert [d[k].text for k, _ in got] == ["one", "two"]


def test_cascade_yields_on_barge_in_then_answers():
    # the model talks from 1.0 s to 4.0 s; the user barges in at 2.0 s for 1.0 s
    audio = np.concatenate([silence(2.0), tone(1.0), silence(2.0)])
    speaking = set(range(5, 20))
    d = run(energy_cascade(prefix_ms=300, silence_ms=500), audio, speaking)
    got = acts(d)
    assert got[0] == (11, "yield")  # 2.0 + 0.3 s of speech is seen in micro-turn 11 (2.2-2.4)
    assert d[11].attribution == {"audio": 1.0, "audio[-0.4s,-0.1s]": 1.0}  # the user's speech
    assert [a for _, a in got].count("yield") == 1  # once per overlap
    # model_speaking still True until 4.0 s: the reply waits for the model to be quiet
    k_resp = [k for k, a in got if a == "respond"][0]
    assert k_resp >= 20


def test_cascade_short_blip_no_yield_and_half_duplex_is_deaf():
    audio = np.concatenate([silence(2.0), tone(0.15), silence(1.0)])
    speaking = set(range(5, 20))
    assert acts(run(energy_cascade(prefix_ms=300), audio, speaking)) == []
    audio = np.concatenate([silence(2.0), tone(1.0), silence(2.0)])
    d = run(energy_cascade(prefix_ms=300, barge_in=False), audio, speaking)
    assert acts(d) == []  # it cannot hear anyone (itself included) while speaking
    assert d[12].info["state"] == "deaf"


def test_cascade_response_delay_min_speech_and_cancel():
    audio = np.concatenate([silence(0.4), tone(1.0), silence(3.0)])
    d = run(energy_cascade(silence_ms=500, prefix_ms=200, response_delay_ms=600), audio)
    ((k, a),) = acts(d)
    assert a == "respond" and 1.4 + 0.5 + 0.6 - 1e-6 <= (k + 1) * 0.2 <= 2.5 + 0.22
    # too short a turn gets no reply
    audio = np.concatenate([silence(0.4), tone(0.4), silence(2.0)])
    assert acts(run(energy_cascade(prefix_ms=200, min_speech_ms=600), audio)) == []
    # the user goes on before the delayed reply is due: cancelled, answered later once
    audio = np.concatenate([silence(0.4), tone(1.0), silence(0.7), tone(1.0), silence(3.0)])
    d = run(energy_cascade(silence_ms=500, prefix_ms=200, response_delay_ms=800), audio)
    ((k, a),) = acts(d)
    assert 3.1 + 0.5 + 0.8 - 1e-6 <= (k + 1) * 0.2 <= 3.1 + 1.3 + 0.22  # user ends at 3.1 s


def test_cascade_eagerness_and_do_not_interrupt():
    audio = np.concatenate([silence(0.4), tone(1.0), silence(3.0)])
    p = energy_cascade(silence_ms=500, prefix_ms=200)
    assert isinstance(p, Policy)
    first = {}
    for e in (0.0, 0.5, 1.0):
        p.eagerness = e
        first[e] = acts(run(p, audio))[0][0]
    assert first[1.0] < first[0.5] < first[0.0]
    assert (first[0.0] + 1) * 0.2 >= 1.4 + 1.0 - 1e-6  # eagerness 0 doubles the silence
    with pytest.raises(ValueError):
        p.eagerness = 1.5
    # a brief sound (shorter than prefix) just as the delayed reply falls due
    p = energy_cascade(silence_ms=500, prefix_ms=300, response_delay_ms=400)
    audio = np.concatenate([silence(0.4), tone(1.0), silence(0.8), tone(0.2), silence(2.0)])
    k_plain = acts(run(p, audio))[0][0]
    p.do_not_interrupt = True
    d = run(p, audio)
    k_held = acts(d)[0][0]
    assert k_held > k_plain and "held" in [x.info["state"] for x in d]


def test_cascade_probs_are_consistent():
    audio = np.concatenate([silence(0.4), tone(1.0), silence(1.0), tone(1.2), silence(1.5)])
    d = run(energy_cascade(), audio, set(range(13, 18)))
    for x in d:
        assert set(x.probs) == set(ACTIONS)
        assert sum(x.probs.values()) == pytest.approx(1.0)
        assert max(x.probs, key=x.probs.get) == x.action.value
        assert x.attribution["audio"] == 1.0 and "vad" in x.info and "state" in x.info


def test_cascade_config_rejects_bad_values():
    for bad in (
        dict(threshold=1.5),
        dict(silence_ms=-1),
        dict(prefix_ms=float("nan")),
        dict(replies=()),
        dict(replies=("",)),
        dict(eagerness=2),
        dict(neg_threshold=0.9, threshold=0.5),
    ):
        with pytest.raises(ValueError):
            CascadeConfig(**bad)


def test_silero_cascade_on_real_speech(speech):
    # speech, a 0.3 s pause, speech again, then silence: one reply, after the end
    audio = np.concatenate([silence(1.0), speech, silence(0.3), speech, silence(2.0)])
    end = (len(audio) - 2.0 * SAMPLE_RATE) / SAMPLE_RATE
    d = run(make_preset("openai-server-vad"), audio)
    ((k, a),) = acts(d)
    assert a == "respond" and end + 0.5 <= (k + 1) * 0.2 + 0.05 <= end + 1.0


# -- presets and resolution ---------------------------------------------------------------------


def test_presets_have_documented_numbers():
    o, p = PRESETS["openai-server-vad"], PRESETS["pipecat"]
    assert (o.vad, o.threshold, o.prefix_ms, o.silence_ms) == ("silero", 0.5, 300, 500)
    assert (p.vad, p.threshold, p.prefix_ms, p.silence_ms) == ("silero", 0.7, 200, 800)
    w, e = PRESETS["webrtc-vad"], PRESETS["energy-vad"]
    assert (w.vad, w.vad_options, w.silence_ms) == ("webrtc", {"aggressiveness": 2}, 500)
    assert (e.vad, e.silence_ms) == ("energy", 500)
    for name in PRESETS:
        policy = make_preset(name)
        assert policy.name == name and isinstance(policy, Policy)


def test_make_preset_overrides_and_errors():
    p = make_preset("pipecat", silence_ms=300, replies="Sure.", response_delay_ms=250)
    assert (p.config.silence_ms, p.config.replies, p.config.threshold) == (300, ("Sure.",), 0.7)
    assert PRESETS["pipecat"].silence_ms == 800  # the preset itself is untouched
    w = make_preset("webrtc-vad", aggressiveness=3, frame_ms=10)
    assert (w.vad.aggressiveness, w.vad.frame_ms) == (3, 10)
    e = make_preset("energy-vad", threshold_db=-50, snr_db=6)
    assert e.vad.config.threshold_db == -50 and e.vad.config.snr_db == 6
    assert make_preset("openai-server-vad", vad="energy").vad.name == "energy"
    with pytest.raises(ValueError, match="unknown preset"):
        make_preset("nope")
    with pytest.raises(ValueError, match="colour"):
        make_preset("pipecat", colour="red")
    with pytest.raises(ValueError):
        make_preset("webrtc-vad", aggressiveness=9)
    assert resolve_policy("pipecat", silence_ms=400).config.silence_ms == 400


def test_a_checkpoint_path_is_a_policy(tmp_path):
    from nbduplex.model import DEFAULT_CHECKPOINT
    from nbduplex.policy import PolicyError

    pol = resolve_policy(str(DEFAULT_CHECKPOINT), eagerness=0.8)
    assert pol.name == "model" and pol.eagerness == 0.8
    with pytest.raises(PolicyError, match="no model checkpoint"):
        resolve_policy(str(tmp_path / "missing.pt"))
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(PolicyError):
        resolve_policy(str(broken))


# -- scripted -----------------------------------------------------------------------------------


def test_scripted_policy_frames_in_frames_out():
    script = {
        2: "respond",
        1.05: ("backchannel", "mm-hm"),  # t = 1.05 s -> micro-turn 5
        7: {"action": "delegate", "task": "17 * 23"},
        9: Decision(Action.YIELD, info={"why": "test"}),
        11: ("interject", "look", None),
    }
    p = ScriptedPolicy(script)
    assert isinstance(p, Policy)
    out = run(p, silence(2.6))
    assert acts(out) == [
        (2, "respond"),
        (5, "backchannel"),
        (7, "delegate"),
        (9, "yield"),
        (11, "interject"),
    ]
    assert out[5].text == "mm-hm" and out[7].task == "17 * 23" and out[9].info["why"] == "test"
    out[2].step_ms = 99.0  # the session writes into decisions: the script stays clean
    assert run(p, silence(0.6))[2].step_ms == 0.0
    assert acts(run(SilentPolicy(), silence(1.0))) == []


def test_scripted_policy_bad_scripts():
    with pytest.raises(ValueError):
        ScriptedPolicy({1: "respond", 0.2: "yield"})  # both are micro-turn 1
    with pytest.raises(ValueError):
        ScriptedPolicy({1: "shout"})
    with pytest.raises(ValueError):
        ScriptedPolicy({-1: "respond"})
    with pytest.raises(TypeError):
        ScriptedPolicy({"1": "respond"})
    with pytest.raises(ValueError):
        ScriptedPolicy({1: {"text": "no action"}})
    with pytest.raises(TypeError):
        ScriptedPolicy({1: 3.5})
    assert len(ScriptedPolicy([(0, "respond"), (0.4, "yield")]).script) == 2
