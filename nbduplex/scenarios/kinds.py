"""Scenario kinds: each is a function that appends one episode to a Builder.

A kind starts at the builder's cursor and leaves the cursor after its last event, so kinds can
be chained (`generate_mixture`). The ideal model's actions are recorded with `Builder.expect`.
"""

from __future__ import annotations

from collections.abc import Callable

from nbduplex.agent.router import calculator_answer
from nbduplex.scenarios import text
from nbduplex.scenarios.builder import Builder
from nbduplex.scenarios.commands import Command
from nbduplex.scenarios.labels import (
    Cue,
    Delegation,
    Instruction,
    Interruption,
    Motion,
    Span,
    Turn,
    VisualEvent,
)
from nbduplex.scenarios.video import COLORS, SHAPES, SceneObject


def turn_taking(b: Builder) -> None:
    """2-4 user turns with 0-2 mid-turn pauses (0.2-1.5 s), fillers and cut-offs; the user
    waits 1.5-3.5 s after each turn end (where a model answers)."""
    for _ in range(int(b.rng.integers(2, 5))):
        b.user_turn(int(b.rng.integers(0, 3)), cutoff_p=0.3)
        b.wait(float(b.rng.uniform(1.5, 3.5)))


def pause_handling(b: Builder) -> None:
    """1-2 turns with 1-3 long mid-turn pauses (0.5-1.5 s) after incomplete clauses."""
    for _ in range(int(b.rng.integers(1, 3))):
        b.user_turn(int(b.rng.integers(1, 4)), pause_range=(0.5, 1.5), cutoff_p=0.2)
        b.wait(float(b.rng.uniform(1.5, 3.0)))


def interruption(b: Builder) -> None:
    """A turn; the model should answer; the user barges in 0.5-2 s after the turn end (while
    the model talks), so the model should yield, then answer once the barge-in ends."""
    for _ in range(int(b.rng.integers(1, 3))):
        b.user_turn(int(b.rng.integers(0, 2)))
        model_from = (b.labels.expected[-1].seq + 1) * 0.2
        b.wait(float(b.rng.uniform(0.5, 2.0)))
        idx = len(b.labels.turns)
        seg = b.say(text.cap(text.pick(b.rng, text.INTERRUPTIONS)), role="interruption", turn=idx)
        b.labels.turns.append(Turn(seg.start, seg.end, seg.text))
        b.labels.interruptions.append(Interruption(seg.start, seg.end, model_from, seg.text))
        b.expect(seg.start, "yield", "", "barge_in", tolerance_s=0.4)
        b.expect(seg.end, "respond", text.pick(b.rng, text.YIELD_REPLIES), "after_barge_in")
        b.labels.turn_ends.append(seg.end)
        b.wait(float(b.rng.uniform(1.5, 3.0)))


def backchannel(b: Builder) -> None:
    """A long narrative (4-7 clauses) with short pauses (0.3-0.7 s) at back-channel points."""
    clauses = text.narrative(b.rng, int(b.rng.integers(4, 8)))
    start, idx = b.t, len(b.labels.turns)
    for i, c in enumerate(clauses):
        b.say(c, turn=idx, role="narrative")
        if i < len(clauses) - 1:
            d = float(b.rng.uniform(0.3, 0.7))
            b.labels.backchannels.append(Span(b.t, b.t + d))
            word = text.pick(b.rng, text.BACKCHANNELS)
            b.expect(b.t, "backchannel", word, "backchannel", tolerance_s=0.6)
            b.wait(d)
    b.labels.turns.append(Turn(start, b.t, " ".join(clauses)))
    b.labels.turn_ends.append(b.t)
    b.expect(b.t, "respond", text.pick(b.rng, text.REPLIES), "turn_end")
    b.wait(float(b.rng.uniform(1.5, 3.0)))


def _instruct(b: Builder, command: Command, kind: str, **kw) -> Instruction:
    """Give an instruction, typed (a text event) 60% of the time, else spoken."""
    if b.rng.random() < 0.6:
        b.wait(float(b.rng.uniform(0.3, 1.0)))
        t, channel = b.type_text(command.typed), "typed"
        said = command.typed
    else:
        seg = b.say(text.cap(command.spoken), role="instruction")
        t, channel, said = seg.end, "spoken", seg.text
    ins = Instruction(t=t, text=said, channel=channel, kind=kind, **kw)
    b.labels.instructions.append(ins)
    return ins


def timespeak(b: Builder) -> None:
    """'say go in 5 seconds' or 'say tick every 4 seconds' (typed or spoken), then light talk."""
    word = text.pick(b.rng, text.SAY_WORDS)
    if b.rng.random() < 0.5:
        n = int(b.rng.integers(3, 9))
        ins = _instruct(b, Command("in", word=word, number=n), "timespeak", say=word,
                        delay_s=float(n))  # fmt: skip
        times = [ins.t + n]
    else:
        n = int(b.rng.integers(2, 6))
        ins = _instruct(b, Command("every", word=word, number=n), "timespeak", say=word,
                        every_s=float(n))  # fmt: skip
        times = [ins.t + n * (i + 1) for i in range(int(b.rng.integers(2, 5)))]
    for t in times:
        b.expect(t, "interject", word, "timespeak", timed=True, tolerance_s=0.5)
    if b.rng.random() < 0.5:  # the user thinks aloud meanwhile (needs no answer)
        b.wait(float(b.rng.uniform(0.5, 1.5)))
        b.say(text.cap(text.continuing_fragment(b.rng)), role="narrative")
    b.wait(max(0.0, times[-1] - b.t) + float(b.rng.uniform(0.8, 1.5)))


def cuespeak(b: Builder) -> None:
    """'say stop when I say banana', then a narrative containing a distractor and the cue."""
    cue, other = (str(w) for w in b.rng.choice(text.CUE_WORDS, 2, replace=False))
    word = text.pick(b.rng, text.SAY_WORDS)
    _instruct(b, Command("when", word=word, cue=cue), "cuespeak", say=word, cue=cue)
    b.wait(float(b.rng.uniform(0.5, 1.5)))
    clauses = text.narrative(b.rng, int(b.rng.integers(2, 5)))
    at = int(b.rng.integers(len(clauses)))
    dis = int(b.rng.integers(len(clauses)))
    start, idx = b.t, len(b.labels.turns)
    for i, c in enumerate(clauses):
        if i == dis and dis != at:
            c = c.rstrip(",.") + f" with {text.article(other)} {other}" + c[-1]
        if i == at:
            c = c.rstrip(",.") + f", and then {text.article(cue)} {cue} showed up" + c[-1]
        seg = b.say(c, turn=idx, role="narrative")
        for w, s, e in seg.words:
            if w.lower() == cue:
                b.labels.cues.append(Cue(cue, s, e))
                b.expect(e, "interject", word, "cue", tolerance_s=0.6)
        if i < len(clauses) - 1:
            b.wait(float(b.rng.uniform(0.2, 0.5)))
    b.labels.turns.append(Turn(start, b.t, " ".join(clauses)))
    b.labels.turn_ends.append(b.t)
    b.expect(b.t, "respond", text.pick(b.rng, text.REPLIES), "turn_end")
    b.wait(float(b.rng.uniform(1.5, 2.5)))


def visual_event(b: Builder) -> None:
    """A shape appears 1.5-6 s in (sometimes after 'tell me when something appears')."""
    if b.rng.random() < 0.5:
        _instruct(b, Command("appears"), "visual")
    t = b.t + float(b.rng.uniform(1.5, 6.0))
    shape, color = text.pick(b.rng, list(SHAPES)), text.pick(b.rng, list(COLORS))
    x, y, size = (float(v) for v in (b.rng.uniform(0.2, 0.8), b.rng.uniform(0.25, 0.75),
                                     b.rng.uniform(0.15, 0.35)))  # fmt: skip
    b.add_object(SceneObject(shape, color, x, y, size, t_from=t))
    b.labels.visual_events.append(VisualEvent(t, shape, color, x, y, size))
    b.expect(
        t, "interject", f"I see {text.article(color)} {color} {shape}.", "visual", tolerance_s=0.6
    )
    b.wait(max(0.0, t - b.t) + float(b.rng.uniform(1.5, 3.0)))


def counting(b: Builder) -> None:
    """'count the jumps', then a shape jumps N (3-8) times, one jump per 1.0-2.0 s; the model
    says each number as the jump lands."""
    shape, color = text.pick(b.rng, list(SHAPES)), text.pick(b.rng, list(COLORS))
    obj = SceneObject(shape, color, float(b.rng.uniform(0.25, 0.75)), 0.78, 0.18, t_from=b.t)
    _instruct(b, Command("count", color=color, shape=shape), "count")
    n, period = int(b.rng.integers(3, 9)), float(b.rng.uniform(1.0, 2.0))
    obj.jump_t0, obj.jump_period, obj.jumps = b.t + float(b.rng.uniform(0.5, 1.5)), period, n
    b.add_object(obj)
    reps = [obj.jump_t0 + period * (i + 1) for i in range(n)]
    b.labels.motion.append(Motion(obj.jump_t0, reps[-1], period, n, reps, shape, color))
    for i, t in enumerate(reps):
        b.expect(t, "interject", text.number_word(i + 1), "count", tolerance_s=0.6)
    b.wait(reps[-1] - b.t + float(b.rng.uniform(1.0, 2.0)))


def delegation(b: Builder) -> None:
    """A question that needs a tool ('what is 17 times 23'); the model delegates at the turn
    end and says the answer when the agent's result arrives (simulated as an agent event, in
    the words the built-in router answers with: '17 * 23 = 391')."""
    question, task, answer = text.arithmetic(b.rng)
    lead = text.cap(text.clause(b.rng)) + ". " if b.rng.random() < 0.4 else ""
    turn = b.user_turn(0, final=lead + question, reply=False)
    b.labels.delegations.append(Delegation(turn.end, question, task, answer))
    b.expect(turn.end, "delegate", task, "delegation")
    if b.cfg.simulate_agent:
        said = calculator_answer(task)
        t = b.type_text(said, at=turn.end + float(b.rng.uniform(0.6, 2.0)), role="agent")
        b.expect(t, "respond", said, "agent_result")
        b.wait(t - b.t + float(b.rng.uniform(1.5, 2.5)))
    else:
        b.wait(float(b.rng.uniform(2.0, 3.5)))


SCENARIO_KINDS: dict[str, Callable[[Builder], None]] = {
    "turn_taking": turn_taking,
    "pause_handling": pause_handling,
    "interruption": interruption,
    "backchannel": backchannel,
    "timespeak": timespeak,
    "cuespeak": cuespeak,
    "visual_event": visual_event,
    "counting": counting,
    "delegation": delegation,
}
