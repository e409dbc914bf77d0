"""Session loop: frames in, frames out, with a user-defined policy and plain MicroTurns."""

import json
import time

import numpy as np
import pytest

from nbduplex.decision import Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, MicroTurn, TextEvent
from nbduplex.session import Session
from nbduplex.speaker import Speaker


class Scripted:
    """A user's own policy: a dict seq -> (action, text); listens otherwise."""

    name = "scripted-test"

    def __init__(self, script):
        self.script = script
        self.seen: list[MicroTurn] = []

    def reset(self):
        self.seen = []

    def step(self, turn):
        self.seen.append(turn)
        action, text = self.script.get(turn.seq, (Action.LISTEN, ""))
        return Decision(action, text=text, task=text if action is Action.DELEGATE else None)


def turns(n, text_at=None):
    out = []
    for k in range(n):
        audio = (np.sin(np.arange(CHUNK_SAMPLES) * 0.05) * 3000).astype(np.int16)
        text = (TextEvent("user", text_at[k]),) if text_at and k in text_at else ()
        out.append(MicroTurn(k, audio, text=text, wall=time.time()))
    return out


def tone_speaker():
    return Speaker(synthesize=lambda t: np.full(len(t) * 800, 500, np.int16))


def test_speech_starts_at_the_next_chunk_and_yield_cuts_it():
    policy = Scripted({2: (Action.RESPOND, "hello there friend"), 5: (Action.YIELD, "")})
    s = Session(turns(10), policy, speaker=tone_speaker())
    trace = s.run()
    speaking = [r["speaking"] for r in trace.rows]
    # respond at k=2 -> audible from chunk 3; yield at k=5 -> silent from chunk 6
    assert speaking == [False] * 3 + [True] * 3 + [False] * 4
    assert [r["action"] for r in trace.rows][2] == "respond"
    assert trace.rows[2]["text"] == "hello there friend"
    # the policy is told when its own voice is audible, and hears its own words
    assert [t.model_speaking for t in policy.seen] == speaking
    assert any(e.role == "model" for e in policy.seen[3].text)
    out = trace.output_audio()
    assert out.shape == (10 * CHUNK_SAMPLES,)
    assert not np.any(out[: 3 * CHUNK_SAMPLES]) and np.all(
        out[3 * CHUNK_SAMPLES : 6 * CHUNK_SAMPLES]
    )
    spans = [sp for sp in trace.spans if sp["kind"] == "model_speech"]
    assert len(spans) == 1 and spans[0]["start"] == pytest.approx(0.6)


def test_rows_record_latency_and_step_time_and_listeners_see_every_turn():
    seen = []
    s = Session(turns(5), Scripted({}), speaker=tone_speaker())
    s.add_listener(lambda row, turn, decision, out: seen.append((row["seq"], out.shape)))
    trace = s.run()
    assert seen == [(k, (CHUNK_SAMPLES,)) for k in range(5)]
    assert all(r["step_ms"] >= 0 for r in trace.rows)
    assert all(r["latency_ms"] is not None and r["latency_ms"] >= 0 for r in trace.rows)


def test_a_broken_listener_does_not_stop_the_conversation():
    s = Session(turns(4), Scripted({}), speaker=tone_speaker())
    s.add_listener(lambda *a: 1 / 0)
    assert len(s.run().rows) == 4


def test_policy_error_keeps_everything_recorded_so_far(tmp_path):
    from nbduplex.trace import Trace

    class Crashes(Scripted):
        def step(self, turn):
            if turn.seq == 3:
                raise RuntimeError("boom")
            return super().step(turn)

    trace = Trace(tmp_path / "t")
    with pytest.raises(RuntimeError):
        Session(turns(6), Crashes({}), trace=trace, speaker=tone_speaker()).run()
    assert len(Trace.load(tmp_path / "t").rows) == 3


def test_controls_are_applied_live_and_recorded():
    class Eager(Scripted):
        eagerness = 0.5
        do_not_interrupt = False

    policy = Eager({1: (Action.INTERJECT, "wait")})
    s = Session(turns(3), policy, speaker=tone_speaker())
    s.set_control("eagerness", 0.9)
    s.set_control("do_not_interrupt", True)
    trace = s.run()
    assert policy.eagerness == 0.9
    settings = [sp for sp in trace.spans if sp["kind"] == "setting"]
    assert [sp["label"] for sp in settings] == ["eagerness=0.9", "do_not_interrupt=True"]
    assert not any(r["speaking"] for r in trace.rows)  # the interjection was suppressed


def test_posted_text_reaches_the_next_micro_turn():
    policy = Scripted({})
    s = Session(turns(3), policy, speaker=tone_speaker())
    s.post_text("hello from the keyboard")
    s.run()
    assert policy.seen[0].user_text == "hello from the keyboard"


def test_background_thread_start_stop():
    def endless():
        k = 0
        while True:
            yield turns(1)[0].with_(seq=k)
            k += 1

    s = Session(endless(), Scripted({}), speaker=tone_speaker())
    s.start()
    time.sleep(0.3)
    s.stop()
    trace = s.wait(5)
    assert not s.running and len(trace.rows) > 0
    assert json.dumps(trace.rows[0], default=str)


def test_barge_in_cancels_running_agent_tasks():
    from nbduplex.agent import BackgroundAgent

    agent = BackgroundAgent()  # the built-in timer tool keeps the task running for 5 s
    policy = Scripted({1: (Action.RESPOND, "let me look that up for you"), 3: (Action.YIELD, "")})

    class Delegating(Scripted):
        def step(self, turn):
            if turn.seq == 0:
                agent.submit("remind me in 5 seconds", at=0.0)
            return super().step(turn)

    policy = Delegating(policy.script)
    Session(turns(5), policy, agent=agent, speaker=tone_speaker()).run()
    assert [(h.status, h.result) for h in agent.history] == [("cancelled", "barge-in")]


def test_speech_without_text_records_the_default_words_it_says():
    s = Session(turns(4), Scripted({1: (Action.BACKCHANNEL, "")}), speaker=tone_speaker())
    assert s.run().rows[1]["text"] == "mm-hm"


def test_a_delegation_may_carry_an_acknowledgement_that_is_said():
    from nbduplex.agent import BackgroundAgent

    class Acknowledging(Scripted):
        def step(self, turn):
            self.seen.append(turn)
            if turn.seq == 1:
                return Decision(Action.DELEGATE, text="Let me check that.", task="what is 6 * 7")
            if turn.seq == 2:
                return Decision(Action.DELEGATE, task="what is 2 * 2")  # silent: no text
            return Decision(Action.LISTEN)

    agent = BackgroundAgent()
    policy = Acknowledging({})
    trace = Session(turns(8), policy, agent=agent, speaker=tone_speaker()).run()
    rows = trace.rows
    assert rows[1]["action"] == "delegate" and rows[1]["text"] == "Let me check that."
    assert rows[2]["text"] == "" and rows[2]["speaking"]  # the acknowledgement is audible
    assert not rows[1]["speaking"] and rows[3]["speaking"]
    assert ("model", "Let me check that.") in [(e.role, e.text) for e in policy.seen[2].text]
    assert sorted(h.task for h in agent.history) == ["what is 2 * 2", "what is 6 * 7"]
