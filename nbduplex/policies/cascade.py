"""The turn-based cascade baseline: a VAD plus silence endpointing, and a canned spoken reply.

This is what most voice agents do today (OpenAI Realtime `server_vad`, Pipecat's
`VADAnalyzer`): wait for the user to start speaking, wait for them to stop, then answer.
It works on the VAD's *frames* (32 ms Silero, 20 ms WebRTC/energy), not on whole micro-turns:

- **speech start**: frame probability >= `threshold` for `prefix_ms` without a break
  (OpenAI `prefix_padding_ms`, Pipecat `start_secs`; OpenAI really uses prefix padding as the
  audio kept *before* detected speech, here it is the speech needed to start a turn);
- **turn end**: after a speech start, `silence_ms` of frames below threshold
  (`neg_threshold` if set; OpenAI `silence_duration_ms`, Pipecat `stop_secs`). A turn whose
  speech (start to first silent frame) is shorter than `min_speech_ms` is dropped;
- **reply**: `response_delay_ms` after the turn end (simulated LLM + TTS latency, default 0)
  the policy RESPONDs with the next canned reply from `replies` (rotating), so its timing is
  audible in output.wav. The decision is taken on the first micro-turn whose input end
  (`t + 0.2`) reaches that moment, so the reply begins at most one micro-turn (plus one VAD
  frame) after `turn end + response_delay_ms`. A new speech start before then cancels it;
- **barge-in**: while `turn.model_speaking` and the user speaks for `prefix_ms` without a break,
  it YIELDs (Pipecat and OpenAI `server_vad` interrupt playback the same way).

**The model's own voice.** A cascade hears whatever the microphone hears. Without echo
cancellation the model's reply leaks into the input, the VAD fires on it and the cascade
"barges in" on itself. The cascade therefore relies on `turn.model_speaking` (set by the
session from the speaker's output): with `barge_in=True` (default) it assumes echo-free input
(browser echoCancellation, or synthetic sources, which contain only the user) and treats speech
heard while it talks as barge-in; with `barge_in=False` it is half-duplex: VAD output is ignored
while `turn.model_speaking`, so it can never hear itself, and the user cannot interrupt it.

**Live controls** (attributes the session sets with `set_control`): `eagerness` in [0, 1] scales
the silence needed to end a turn by 2 ** (1 - 2 * eagerness) (0 -> 2x, 0.5 -> 1x, 1 -> 0.5x
`silence_ms`); `do_not_interrupt` holds a due reply while the user's voice is still present in
the current micro-turn (the reply waits for a quiet micro-turn instead of talking over them).

Decisions carry `probs` derived from the trigger progress (listen / respond / yield; the argmax
is the action, and 1.0 when a trigger fires), `attribution` `{"audio": 1.0,
"audio[-0.5s,0s]": 1.0}` naming the silence (or, for a yield, the speech) that triggered it
relative to the decision time `t + 0.2`, and `info` with the VAD score and the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from nbduplex.decision import ACTIONS, Action, Decision
from nbduplex.microturn import MICROTURN_S, MicroTurn
from nbduplex.policies.vad import StreamingVAD, make_vad


@dataclass
class CascadeConfig:
    """Every setting of a VAD + silence-endpointing cascade."""

    vad: str = "silero"  # "silero" | "webrtc" | "energy"
    vad_options: dict = field(default_factory=dict)  # passed to the VAD, e.g. aggressiveness=2
    threshold: float = 0.5  # frame speech probability that counts as speech
    neg_threshold: float | None = None  # below this a frame is silence during a turn (None: =)
    prefix_ms: float = 300.0  # ms of unbroken speech that start a turn (and trigger barge-in)
    silence_ms: float = 500.0  # ms of unbroken silence that end a turn (at eagerness 0.5)
    min_speech_ms: float = 0.0  # ms; shorter turns (speech start to silence) get no reply
    response_delay_ms: float = 0.0  # ms of simulated LLM + TTS latency after the turn end
    replies: tuple[str, ...] = ("Okay, I hear you.",)  # canned replies, used in rotation
    barge_in: bool = True  # yield when the user speaks over the model; False = half-duplex
    eagerness: float = 0.5  # 0..1, scales silence_ms by 2 ** (1 - 2 * eagerness)
    do_not_interrupt: bool = False  # hold a due reply while the user's voice is present
    name: str = "cascade"  # policy name shown in traces and tables

    def __post_init__(self) -> None:
        if isinstance(self.replies, str):
            self.replies = (self.replies,)
        self.replies = tuple(self.replies)
        if not self.replies or not all(isinstance(r, str) and r.strip() for r in self.replies):
            raise ValueError("replies must be one or more non-empty strings")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.neg_threshold is not None and not 0.0 <= self.neg_threshold <= self.threshold:
            raise ValueError("neg_threshold must be in [0, threshold]")
        for name in ("prefix_ms", "silence_ms", "min_speech_ms", "response_delay_ms"):
            v = getattr(self, name)
            if not v >= 0.0:  # also rejects NaN
                raise ValueError(f"{name} must be >= 0 ms, got {v}")
        if not 0.0 <= self.eagerness <= 1.0:
            raise ValueError(f"eagerness must be in [0, 1], got {self.eagerness}")

    @property
    def effective_silence_ms(self) -> float:
        """`silence_ms` scaled by eagerness."""
        return self.silence_ms * 2.0 ** (1.0 - 2.0 * self.eagerness)


CONFIG_FIELDS = frozenset(f.name for f in fields(CascadeConfig))


def _sec(x: float) -> str:
    s = f"{round(x, 2):g}"
    return "0" if s == "-0" else s


def _range_key(a: float, b: float) -> str:
    """Attribution key for audio from a to b seconds relative to the decision time."""
    return f"audio[{_sec(a)}s,{_sec(b)}s]"


class CascadePolicy:
    """VAD + silence endpointing + canned reply + barge-in; see the module docstring."""

    def __init__(self, config: CascadeConfig | None = None, vad: StreamingVAD | None = None):
        self.config = config or CascadeConfig()
        self.vad = vad if vad is not None else make_vad(self.config.vad, **self.config.vad_options)
        self.name = self.config.name
        self.reset()

    # -- live controls ----------------------------------------------------------------------------
    @property
    def eagerness(self) -> float:
        """0..1: how soon a silence ends the user's turn (0.5 = `silence_ms`)."""
        return self.config.eagerness

    @eagerness.setter
    def eagerness(self, value: float) -> None:
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"eagerness must be in [0, 1], got {value}")
        self.config = replace(self.config, eagerness=value)

    @property
    def do_not_interrupt(self) -> bool:
        """Hold a due reply while the user is still audible."""
        return self.config.do_not_interrupt

    @do_not_interrupt.setter
    def do_not_interrupt(self, value: bool) -> None:
        self.config = replace(self.config, do_not_interrupt=bool(value))

    # -- streaming --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new session: VAD state, runs, pending reply and reply rotation."""
        self.vad.reset()
        self.in_speech = False  # the user holds the turn (speech start seen, no endpoint yet)
        self.speech_run = 0.0  # s of unbroken speech frames
        self.silence_run = 0.0  # s of unbroken silence frames
        self.overlap_run = 0.0  # s of unbroken user speech while the model speaks
        self.speech_start = 0.0  # stream time of the current turn's speech start
        self.due: float | None = None  # stream time when the pending reply is due
        self.trigger: tuple[float, float] | None = None  # silence (start, end) behind the reply
        self._n_replies = 0

    def step(self, turn: MicroTurn) -> Decision:
        """One micro-turn: run the VAD frame by frame, then decide."""
        c = self.config
        score = self.vad.process(turn.audio)
        frame_s = self.vad.frame_s
        on, off = c.threshold, c.threshold if c.neg_threshold is None else c.neg_threshold
        prefix, silence = c.prefix_ms / 1000.0, c.effective_silence_ms / 1000.0
        n = len(self.vad.frame_probs)
        gated = turn.model_speaking and not c.barge_in
        barge: tuple[float, float] | None = None
        for i, p in enumerate(self.vad.frame_probs):
            end = self.vad.frame_end_s - (n - 1 - i) * frame_s  # stream time at frame end
            if gated:  # half-duplex: deaf while the model talks (it would hear itself)
                self.speech_run = self.silence_run = self.overlap_run = 0.0
                continue
            if p >= (off if self.in_speech else on):
                self.speech_run += frame_s
                self.silence_run = 0.0
                if turn.model_speaking:
                    self.overlap_run += frame_s
                    crossed = self.overlap_run - frame_s < prefix - 1e-9  # once per overlap
                    if self.overlap_run >= prefix - 1e-9 and crossed and barge is None:
                        barge = (end - self.overlap_run, end)
                if not self.in_speech and self.speech_run >= prefix - 1e-9:
                    self.in_speech = True
                    self.speech_start = end - self.speech_run
                    self.due = self.trigger = None  # the user goes on: drop a pending reply
            else:
                self.silence_run += frame_s
                self.speech_run = self.overlap_run = 0.0
                if self.in_speech and self.silence_run >= silence - 1e-9:
                    self.in_speech = False
                    speech_end = end - self.silence_run
                    if (speech_end - self.speech_start) * 1000.0 >= c.min_speech_ms - 1e-6:
                        self.due = end + c.response_delay_ms / 1000.0
                        self.trigger = (speech_end, end)
        if not turn.model_speaking:
            self.overlap_run = 0.0
        return self._decide(turn, score, barge, gated)

    def _decide(
        self, turn: MicroTurn, score: float, barge: tuple[float, float] | None, gated: bool
    ) -> Decision:
        c = self.config
        now = turn.t + MICROTURN_S  # the decision has seen input up to here
        user_audible = self.speech_run > 0.0
        info: dict[str, float | str | bool] = {
            "vad": round(score, 4),
            "speech_ms": round(self.speech_run * 1000.0, 1),
            "silence_ms": round(self.silence_run * 1000.0, 1),
            "endpoint_ms": round(c.effective_silence_ms, 1),
        }
        attribution = {"audio": 1.0}
        if barge is not None:
            info["state"] = "barge_in"
            attribution[_range_key(barge[0] - now, barge[1] - now)] = 1.0
            return Decision(Action.YIELD, attribution=attribution, info=info)
        if self.due is not None and now >= self.due - 1e-9 and not turn.model_speaking:
            if c.do_not_interrupt and user_audible:
                info["state"] = "held"  # due, but the user is audible: wait for quiet
            else:
                start, end = self.trigger or (now, now)
                self.due = self.trigger = None
                text = c.replies[self._n_replies % len(c.replies)]
                self._n_replies += 1
                info["state"] = "respond"
                attribution[_range_key(start - now, end - now)] = 1.0
                return Decision(Action.RESPOND, text=text, attribution=attribution, info=info)
        if "state" in info:
            state = str(info["state"])
        elif gated:
            state = "deaf"
        elif self.due is not None:
            state = "pending"
        elif self.in_speech:
            state = "user_speaking"
        else:
            state = "quiet"
        info["state"] = state
        return Decision(
            Action.LISTEN, probs=self._probs(turn, c), attribution=attribution, info=info
        )

    def _probs(self, turn: MicroTurn, c: CascadeConfig) -> dict[str, float]:
        """Listening probs from trigger progress: at most 0.5 each, so LISTEN stays the argmax."""
        probs = dict.fromkeys(ACTIONS, 0.0)
        if turn.model_speaking and c.barge_in:
            prefix = c.prefix_ms / 1000.0
            probs["yield"] = 0.5 * min(1.0, self.overlap_run / prefix) if prefix else 0.0
        elif self.in_speech or self.due is not None:
            silence = c.effective_silence_ms / 1000.0
            progress = 1.0 if self.due is not None else self.silence_run / max(silence, 1e-9)
            probs["respond"] = 0.5 * min(1.0, progress)
        probs["listen"] = 1.0 - probs["yield"] - probs["respond"]
        return probs

    def __repr__(self) -> str:
        return f"CascadePolicy({self.config!r})"
