"""Ground truth of a scenario: what the user did when, and what an ideal model would do.

All times are seconds of stream time (input sample / 16000). `Labels` is plain dataclasses of
str/float/int/list, so `to_dict()` is JSON and `Labels.from_dict()` reads it back.

`expected` lists the ideal model's actions. Each `Expected` has `t` (the moment the action is
due: a turn end, a cue word's end, an object's appearance, an instructed time), `seq` (the
micro-turn whose decision should take it: for reactions the first micro-turn starting at or
after `t`, so speech begins 0.2-0.4 s after the event; for instructed times the micro-turn
whose speech begins closest to `t`), the action name (nbduplex.decision.Action values) and
the words to say. `target_actions(n)` turns this into one action name per micro-turn.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from nbduplex.microturn import MICROTURN_S


@dataclass
class Span:
    """A time range [start, end) in seconds."""

    start: float
    end: float


@dataclass
class SpeechSegment:
    """One contiguous stretch of synthesised user speech."""

    start: float
    end: float
    text: str
    synth: str
    voice: str
    params: dict[str, float] = field(default_factory=dict)  # rate wpm, pitch, range, amplitude
    words: list[tuple[str, float, float]] = field(default_factory=list)  # absolute times
    turn: int = -1  # index into Labels.turns, -1 if not part of a turn
    role: str = "turn"  # turn | instruction | interruption | narrative | cutoff


@dataclass
class Turn:
    """A user turn: from its first word to its end (where the model may answer)."""

    start: float
    end: float
    text: str
    expects_response: bool = True


@dataclass
class Interruption:
    """The user barges in at `start` while the model is expected to talk (from `model_from`)."""

    start: float
    end: float
    model_from: float
    text: str = ""


@dataclass
class Cue:
    """A word in the user's speech (a cue for CueSpeak, with its exact timing)."""

    word: str
    start: float
    end: float


@dataclass
class Instruction:
    """An instruction to the model, typed (a text event) or spoken."""

    t: float  # when it was typed, or when the spoken instruction ended
    text: str
    channel: str  # "typed" | "spoken"
    kind: str  # "timespeak" | "cuespeak" | "count" | "delegation"
    say: str = ""  # the word to say
    delay_s: float = 0.0  # "in N seconds"
    every_s: float = 0.0  # "every N seconds"
    cue: str = ""  # "when I say X"


@dataclass
class VisualEvent:
    """An object appears in the video at `t` (and stays)."""

    t: float
    shape: str
    color: str
    x: float  # centre, fraction of width
    y: float  # centre, fraction of height
    size: float  # fraction of height


@dataclass
class Motion:
    """Periodic motion: an object jumps `count` times, one jump per `period_s`."""

    start: float
    end: float
    period_s: float
    count: int
    rep_times: list[float]  # when each jump lands
    shape: str = "circle"
    color: str = "red"


@dataclass
class Delegation:
    """A request that needs a tool; the model should delegate at `t` and say `answer`."""

    t: float
    question: str
    task: str  # e.g. "17 * 23"
    answer: str
    tool: str = "calculator"


@dataclass
class Expected:
    """One action of an ideal model (see the module docstring for `t` and `seq`)."""

    t: float
    seq: int
    action: str  # listen respond backchannel interject yield delegate
    text: str = ""
    cause: str = ""  # e.g. "turn_end", "cue", "timespeak", "visual", "count", "barge_in"
    tolerance_s: float = 0.5  # timing tolerance used when scoring


@dataclass
class Labels:
    """Everything true about a scenario."""

    kind: str
    seed: int
    duration: float
    tasks: list[str] = field(default_factory=list)  # kinds chained in this scenario
    speech: list[SpeechSegment] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    pauses: list[Span] = field(default_factory=list)  # mid-turn: the model stays quiet
    turn_ends: list[float] = field(default_factory=list)
    interruptions: list[Interruption] = field(default_factory=list)
    backchannels: list[Span] = field(default_factory=list)  # opportunities (short pauses)
    cues: list[Cue] = field(default_factory=list)
    instructions: list[Instruction] = field(default_factory=list)
    visual_events: list[VisualEvent] = field(default_factory=list)
    motion: list[Motion] = field(default_factory=list)
    delegations: list[Delegation] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    voice: dict[str, float | str] = field(default_factory=dict)  # synth, voice, rate, ...
    noise: dict[str, float | str] = field(default_factory=dict)  # type, snr_db
    room: dict[str, float | str] = field(default_factory=dict)  # type, rt60_s / eq gains

    def to_dict(self) -> dict:
        """A JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Labels:
        """Inverse of `to_dict` (e.g. after json.load)."""
        types = {
            "speech": SpeechSegment,
            "turns": Turn,
            "pauses": Span,
            "interruptions": Interruption,
            "backchannels": Span,
            "cues": Cue,
            "instructions": Instruction,
            "visual_events": VisualEvent,
            "motion": Motion,
            "delegations": Delegation,
            "expected": Expected,
        }
        kw = {}
        for f in fields(cls):
            v = d.get(f.name)
            if v is None:
                continue
            kw[f.name] = [types[f.name](**x) for x in v] if f.name in types else v
        for s in kw.get("speech", []):
            s.words = [tuple(w) for w in s.words]
        return cls(**kw)

    def user_speech_spans(self) -> list[Span]:
        """Speech segments as merged spans (touching segments joined)."""
        out: list[Span] = []
        for s in sorted(self.speech, key=lambda s: s.start):
            if out and s.start <= out[-1].end + 1e-6:
                out[-1].end = max(out[-1].end, s.end)
            else:
                out.append(Span(s.start, s.end))
        return out

    def target_actions(self, n_turns: int | None = None) -> list[str]:
        """One action name per micro-turn: "listen" except where `expected` says otherwise."""
        n = n_turns if n_turns is not None else int(round(self.duration / MICROTURN_S))
        out = ["listen"] * n
        for e in sorted(self.expected, key=lambda e: e.seq):
            if 0 <= e.seq < n:
                out[e.seq] = e.action
        return out


def reaction_seq(t: float) -> int:
    """First micro-turn starting at or after `t` (its speech starts 0.2-0.4 s after `t`)."""
    return max(0, math.ceil(t / MICROTURN_S - 1e-6))


def timed_seq(t: float) -> int:
    """The micro-turn whose speech (starting at its end) begins nearest to `t`."""
    return max(0, int(round(t / MICROTURN_S)) - 1)
