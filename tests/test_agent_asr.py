"""Spoken requests: the agent transcribes the user's audio (PocketSphinx) before routing."""

import numpy as np
import pytest

from nbduplex.agent import BackgroundAgent
from nbduplex.agent.asr import Transcriber
from nbduplex.decision import Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, MicroTurn
from nbduplex.session import Session
from nbduplex.speaker import Speaker
from nbduplex.tts import available, synthesize

needs_asr = pytest.mark.skipif(not Transcriber.available(), reason="pocketsphinx not installed")
needs_flite = pytest.mark.skipif(not available("flite"), reason="Debian flite not installed")


@needs_asr
@needs_flite
def test_spoken_arithmetic_request_is_transcribed_and_answered():
    audio = synthesize("what is seventeen times twenty three", synth="flite", voice="slt").audio
    agent = BackgroundAgent()
    try:
        agent.submit("", at=0.0, audio=audio)
        assert agent.wait(30)
        results = [e.text for e in agent.drain_results()]
        assert any("391" in r for r in results), results
        tool_spans = [s for s in agent.spans if s["kind"] == "tool_call"]
        assert [s["label"] for s in tool_spans][:2] == ["transcribe", "calculator"]
    finally:
        agent.detach()


@needs_asr
def test_transcriber_rejects_bad_audio_and_returns_little_for_silence():
    t = Transcriber()
    with pytest.raises(ValueError):
        t(np.zeros((10, 2), np.int16))
    assert t(np.zeros(16000, np.int16)) == ""  # PocketSphinx alone guesses a word here
    hum = (300 * np.random.default_rng(0).standard_normal(16000)).astype(np.int16)
    assert t(hum) == "" and Transcriber.speech_seconds(hum) < 0.2


def test_session_sends_recent_user_audio_when_the_policy_gives_no_task():
    heard = []

    def fake_asr(audio):  # records what the session handed over
        heard.append(audio.copy())
        return "what is 2 plus 2"

    class DelegatesAt3:
        name = "delegates"

        def reset(self):
            pass

        def step(self, turn):
            return Decision(Action.DELEGATE if turn.seq == 3 else Action.LISTEN)

    turns = [MicroTurn(k, np.full(CHUNK_SAMPLES, k + 1, np.int16)) for k in range(5)]
    agent = BackgroundAgent(transcriber=fake_asr)
    speaker = Speaker(synthesize=lambda t: np.zeros(10, np.int16))
    Session(turns, DelegatesAt3(), agent=agent, speaker=speaker).run()
    assert len(heard) == 1 and heard[0].shape == (4 * CHUNK_SAMPLES,)
    assert heard[0][0] == 1 and heard[0][-1] == 4  # micro-turns 0..3, in order
    assert any(h.task == "what is 2 plus 2" for h in agent.history)


@pytest.mark.parametrize("say_unrouted", [False, True])
def test_a_spoken_request_no_tool_fits_is_recorded_but_not_said(say_unrouted):
    agent = BackgroundAgent(
        transcriber=lambda audio: "it was a lovely day", say_unrouted=say_unrouted
    )
    try:
        spoken = agent.submit("", at=0.0, audio=np.ones(16000, np.int16))
        assert agent.wait(5.0, spoken)
        assert agent.tasks[spoken].status == "unrouted"
        said = [e.text for e in agent.drain_results()]
        assert said == (["Sorry, I can't do that: 'it was a lovely day'."] if say_unrouted else [])
        typed = agent.submit("tell me a joke", at=1.0)  # typed: always answered
        assert agent.wait(5.0, typed)
        assert [e.text for e in agent.drain_results()] == [
            "Sorry, I can't do that: 'tell me a joke'."
        ]
        assert [h.status for h in agent.history] == ["unrouted", "unrouted"]
        # a spoken request the model acknowledged aloud: its "I can't do that" is said
        acked = agent.submit("", at=2.0, audio=np.ones(16000, np.int16), say_unrouted=True)
        assert agent.wait(5.0, acked)
        assert [e.text for e in agent.drain_results()] == [
            "Sorry, I can't do that: 'it was a lovely day'."
        ]
    finally:
        agent.detach()


@pytest.mark.parametrize(("delegate_at", "tasks"), [((3, 4), 1), ((3, 9), 2)])
def test_a_spoken_request_delegated_in_consecutive_micro_turns_runs_once(delegate_at, tasks):
    """The model may delegate in two micro-turns in a row; the first task may already be done
    (no tool fitted, or a fast answer). The second is the same request: not transcribed or
    answered again. A delegation a second later is a new request."""
    heard = []

    def fake_asr(audio):
        heard.append(len(audio))
        return "what is 2 plus 2"

    class Delegates:
        name = "delegates"

        def reset(self):
            pass

        def step(self, turn):
            if turn.seq == delegate_at[1]:
                assert agent.wait(5.0)  # the first task is done (as 0.2 s later in real time)
            return Decision(Action.DELEGATE if turn.seq in delegate_at else Action.LISTEN)

    turns = [MicroTurn(k, np.full(CHUNK_SAMPLES, 100, np.int16)) for k in range(12)]
    agent = BackgroundAgent(transcriber=fake_asr)
    speaker = Speaker(synthesize=lambda t: np.zeros(10, np.int16))
    Session(turns, Delegates(), agent=agent, speaker=speaker).run()
    assert len(heard) == tasks and len(agent.history) == tasks
    assert all(h.status == "ok" for h in agent.history)
