"""The interaction model as a Policy: one streaming `step()` per micro-turn, with attribution.

    policy = InteractionModelPolicy(load_model())
    decision = policy.step(turn)   # Decision(action, probs, text, task, attribution, info)

Decision rule: p(listen) is multiplied by `listen_scale` and each action's probability by
`action_scales[action]` (both calibrated on training voices after training and stored in the
checkpoint's meta: the class-balanced loss inflates rare actions, e.g. `interject` fires too
early, and these undo that at decision time), and the probabilities are re-weighted by `eagerness`
(0..1; 0.5 = as trained): the back-channel and interject probabilities are multiplied by
4 ** (2 e - 1), so e = 1 makes them 4x likelier and e = 0 4x less likely;
`do_not_interrupt` zeroes them. The action is the arg-max of the re-weighted probabilities
(`probs` reports the model's own). `yield` while the model is silent is read as `listen`, and
so is a speech action right after the micro-turn that started speech (training ignores the
micro-turns next to a timed utterance, so the model may fire twice in a row).
The words come from the byte decoder (`words="decoder"`, spelled byte by byte from the decision
token and the action) or the word head (`words="head"`: the most likely reply of
`config.replies` that fits the action); "auto" takes the decoder when the checkpoint trained
one. "@agent" says the latest agent result; decoded text that is empty, or "@agent" with no
agent result yet, falls back to the word head (`info["words_from"]` says which spoke).

Delegation: a delegate decision carries `acknowledgement` ("Let me check that.") as words to
say while the agent works, so the user hears at once that the request was taken, when the
turn-end detector is sure the user has finished (p_end >= `ACK_P_END`: a delegation in a
mid-turn pause stays silent). The answer cuts it short if the result arrives sooner; if the
user speaks, the model stops it (yield, which cancels the agent's task like any barge-in: the
user was not done). The transformer was trained on silent delegations, so while the
acknowledgement plays its input says the model is silent and leaves those words out; and
until the agent's result arrives, an answer or back-channel it decides then is not said over
the acknowledgement (`info["kept_acknowledgement"]`).

Spoken instructions: when the checkpoint has an instruction reader (model/reader/) and
`read_instructions` is on, the reader hears the user's audio and, in the micro-turn where an
instruction such as "say go in five seconds" ends, the model gets its typed form as a user text
event (`info["heard_instruction"]`).

Turn ends: when the checkpoint has a turn-end detector (model/turn_end/) and `hold_in_pauses`
is on, a decision to answer or delegate is checked against it: if the detector hears the user
only pausing mid-turn (p_end below its threshold), the model keeps listening
(`info["p_turn_end"]`, `info["held_in_pause"]`). A held decision stays pending for
`pending_turns` micro-turns: if the detector hears the turn end within them (more silence), or
the user stays silent all that time (per the reader's VAD), the model takes the turn then
(`info["pending_answer"]`); if the user speaks again, it is dropped. So a turn end misread as
a pause costs at most `pending_turns` x 0.2 s of latency, not the answer.

Answering a silence (`model/unanswered.py`, with the reader's VAD): when the user spoke (anything
but an instruction the reader read), nothing answered (a back-channel does not: "mm-hm" says
go on), and then `answer_silence_turns` micro-turns passed in silence (default
`SILENCE_ANSWER_TURNS` = 9, 1.8 s, longer than the training recipe's mid-turn pauses), the
model responds (`info["answered_silence"]`). It catches turn ends the transformer lets pass.
Not within 10 s of an instruction, nor while a silent delegation's result may still arrive,
nor in the micro-turn an agent result arrives (the transformer says it).
`answer_silence_turns=0` turns it off: see the model card for what it gained and cost.
Each decision's `info["user_speech"]` says whether that VAD heard the user in the micro-turn
(the timeline shades those micro-turns as user speech, rather than a fixed input level).
Babble is speech too, so "the user speaks" also needs the micro-turn's level above a running
noise floor (`model/noise_floor.py`; `noise_floor=False`: the VAD alone, which in babble never
hears the silence after a turn end).

Cue words: when the checkpoint has a cue spotter (model/cue/) and `spot_cues` is on, an
instruction "say X when I say Y" (typed, or heard by the reader) arms it, and the model
interjects X where the spotter starts hearing Y (`model/cue/listener.py` says when, using the
reader's VAD): `info["p_cue"]`, `info["cue_heard"]`, `words_from` "cue". An answer it would
have given then waits (pending, as above). The model's own interjections stay: the spotter adds
the cues it did not hear.

Unasked task words: an interjection whose words are a bare timed word, cue word or number
(`TASK_WORDS`) is not said unless an instruction (typed or read) came earlier in the session
(`info["unasked_word"]`): such words only serve an instruction's task. "I see ..." and the
other interjections stay.

Attribution: the attention mass per modality and time range behind each decision
(`model/attribution.py`).
"""

from __future__ import annotations

import math

import torch

from nbduplex.decision import Action, Decision
from nbduplex.microturn import MicroTurn, TextEvent, rms_dbfs
from nbduplex.model.attribution import attention_attribution
from nbduplex.model.byte_decoder import SPEECH_ACTIONS
from nbduplex.model.cue.listener import CueListener
from nbduplex.model.cue.spotter import CueSpotter
from nbduplex.model.featurize import Featurizer
from nbduplex.model.model import InteractionModel
from nbduplex.model.noise_floor import NoiseFloor
from nbduplex.model.reader.reader import InstructionReader
from nbduplex.model.turn_end.detector import TurnEndDetector
from nbduplex.model.unanswered import SILENCE_ANSWER_TURNS, UnansweredTurn
from nbduplex.scenarios.commands import parse
from nbduplex.scenarios.text import NUMBER_WORDS, SAY_WORDS

RESUME_P, RESUME_FRAMES = 0.9, 2  # VAD frames (32 ms) that say the user speaks again
TASK_WORDS = frozenset(SAY_WORDS + NUMBER_WORDS)  # interjected only for an instruction's task
AGENT_REPLY = "@agent"  # word-head entry meaning "say the latest agent result"
ACKNOWLEDGEMENT = "Let me check that."  # said when delegating, while the agent works
ACK_P_END = 0.9  # ... only when the turn-end detector is this sure the user has finished


def _norm(text: str) -> str:
    return text.lower().strip(" .!?,")


class InteractionModelPolicy:
    """Streams one session through an `InteractionModel` (it owns the model's KV cache)."""

    name = "model"

    def __init__(
        self,
        model: InteractionModel,
        *,
        eagerness: float = 0.5,
        do_not_interrupt: bool = False,
        attribution: bool = True,
        listen_scale: float | None = None,
        action_scales: dict[str, float] | None = None,
        cpu_threads: int | None = 1,
        words: str = "auto",
        read_instructions: bool = True,
        hold_in_pauses: bool = True,
        pending_turns: int = 7,
        spot_cues: bool = True,
        acknowledgement: str = ACKNOWLEDGEMENT,
        answer_silence_turns: int = SILENCE_ANSWER_TURNS,
        noise_floor: bool = True,
    ) -> None:
        self.model = model.eval()
        device = next(model.parameters()).device
        if device.type == "cpu" and cpu_threads:
            # One step is a few small matmuls: extra intra-op threads only spin and, when the
            # other cores are busy (browser, kernel), made a step 50x slower (8 ms -> 470 ms
            # measured on 2 cores). Note: torch's thread count is process-wide.
            torch.set_num_threads(cpu_threads)
        self.config = model.config
        self.eagerness = eagerness  # 0..1, scales back-channel / interject likelihood
        self.do_not_interrupt = do_not_interrupt  # never back-channel or interject
        self.attribution = attribution
        meta = getattr(model, "meta", {}) or {}
        # multiplies p(listen) before the arg-max (< 1: act more readily); tuned on training
        # voices after training and stored in the checkpoint's meta
        self.listen_scale = float(listen_scale or meta.get("listen_scale", 1.0))
        scales = action_scales if action_scales is not None else meta.get("action_scales", {})
        unknown = set(scales) - set(self.config.actions)
        if unknown:
            raise ValueError(f"action_scales for unknown actions: {sorted(unknown)}")
        self.action_scales = {a: float(v) for a, v in scales.items()}  # p(a) multipliers
        if words not in ("auto", "decoder", "head"):
            raise ValueError(f"words must be 'auto', 'decoder' or 'head', got {words!r}")
        if words == "auto":
            words = "decoder" if meta.get("byte_decoder") else "head"
        self.words = words  # where the words come from: the byte decoder or the word head
        self._featurizer = Featurizer(self.config)
        found = getattr(model, "reader", None) if read_instructions else None
        self.reader = InstructionReader(*found) if found else None
        found = getattr(model, "turn_end", None) if hold_in_pauses else None
        self.turn_end = TurnEndDetector(*found) if found else None
        self.pending_turns = int(pending_turns)  # how long a held answer waits for the turn end
        found = getattr(model, "cue", None) if spot_cues else None
        self.cue = CueListener(CueSpotter(*found)) if found else None
        self.unanswered = UnansweredTurn(answer_silence_turns)  # 0: never answer a silence
        self.noise_floor = NoiseFloor() if noise_floor else None  # the VAD's babble guard
        self.acknowledgement = acknowledgement  # said when delegating ("": nothing)
        self._stream = None
        self.reset()

    def reset(self) -> None:
        """Start a new session: fresh KV cache and feature state."""
        if self._stream is not None:
            self._stream.__exit__(None, None, None)
        self._featurizer.reset()
        if self.reader is not None:
            self.reader.reset()
        if self.turn_end is not None:
            self.turn_end.reset()
        if self.cue is not None:
            self.cue.reset()
        self.unanswered.reset()
        if self.noise_floor is not None:
            self.noise_floor.reset()
        self._instructed = False  # an instruction was given (typed or read) in this session
        self._stream = self.model.streaming(1)
        self._stream.__enter__()
        self._cache = self.model.cache  # ours, even if another policy steps the same model
        self._last_agent_text = ""
        self._last_user_text = ""
        self._spoke_last_turn = False
        self._acking = False  # the acknowledgement of a delegation is playing
        self._agent_results = 0  # agent results received so far ...
        self._results_at_ack = 0  # ... and when the acknowledgement started
        self._pending: tuple[Action, int] | None = None  # (held action, micro-turns left)
        self.model.blocks[-1].attn.keep_attention = self.attribution

    @property
    def answer_silence_turns(self) -> int:
        """Silent micro-turns after which an unanswered turn is answered (0: never)."""
        return self.unanswered.silence_turns

    @answer_silence_turns.setter
    def answer_silence_turns(self, turns: int) -> None:
        self.unanswered.silence_turns = int(turns)

    def close(self) -> None:
        """Release the KV cache."""
        if self._stream is not None:
            self._stream.__exit__(None, None, None)
            self._stream = self._cache = None

    def step(self, turn: MicroTurn) -> Decision:
        """Decide this micro-turn."""
        if self._stream is None:
            self.reset()
        self.model.cache = self._cache
        results_before = self._agent_results
        for e in turn.text:
            if e.role == "agent" and e.text:
                self._last_agent_text = e.text
                self._agent_results += 1
            elif e.role == "user" and e.text:
                self._last_user_text = e.text
        heard = self.reader.push(turn.audio) if self.reader is not None else None
        if self.turn_end is not None:
            self.turn_end.push(turn.audio)
        if heard is not None:  # the model reads instructions; it cannot parse spoken ones
            turn = turn.with_(text=(*turn.text, TextEvent("user", heard.typed)))
        instructed = any(e.role == "user" and e.text and parse(e.text) for e in turn.text)
        self._instructed |= instructed
        if self.reader is not None:
            loud = self.noise_floor is None or self.noise_floor.push(rms_dbfs(turn.audio))
            speaks = self._user_speaks(0.5, 1) and loud
            read = heard is not None
            self.unanswered.hear(speaks, turn.model_speaking, read, instructed, self._agent_results)
        if self.cue is not None:
            self.cue.push(turn.audio, turn.text)
        acking = self._acking = self._acking and turn.model_speaking
        if acking:  # the transformer was trained on silent delegations: it hears no ack
            said = TextEvent("model", self.acknowledgement)
            turn = turn.with_(model_speaking=False, text=tuple(e for e in turn.text if e != said))
        x = self._featurizer(turn).to(self.model.device)
        with torch.inference_mode():
            out = self.model.step(x)
        p = out.action_logits[0, 0].float().softmax(-1).cpu()
        names = self.config.actions
        probs = {a: float(p[i]) for i, a in enumerate(names)}
        action = Action(names[int(self._reweight(p).argmax())])
        if action is Action.YIELD and not turn.model_speaking:
            action = Action.LISTEN
        info: dict = {"heard_instruction": heard.typed} if heard is not None else {}
        if self.reader is not None:  # what its VAD heard: the timeline's user-speech shading
            info["user_speech"] = speaks
        if acking and action is Action.LISTEN and self._user_speaks():
            action, info["acknowledgement_cut"] = Action.YIELD, True  # the user speaks over it
        if self.turn_end is not None:
            action = self._check_turn_end(action, turn, info)
        cue_word = None
        if self.cue is not None:  # without a reader there is no VAD: every micro-turn is read
            since = self.unanswered.since_speech if self.reader is not None else None
            busy = turn.model_speaking or self._spoke_last_turn
            cue_word = self.cue.listen(since, busy, info)
        if cue_word is not None:
            if action in (Action.RESPOND, Action.DELEGATE) and self.turn_end is not None:
                self._pending = (action, self.pending_turns)  # answered after the word
            action = Action.INTERJECT
        if action is Action.LISTEN and self.reader is not None:
            # an agent result that arrives now is the transformer's to say, not a generic answer
            result_now = self._agent_results > results_before
            busy = bool(turn.model_speaking or self._acking or self._pending or result_now)
            if self.unanswered.answer(busy):
                action, info["answered_silence"] = Action.RESPOND, True
        waiting = acking and self._agent_results == self._results_at_ack  # no result yet
        if waiting and action in (Action.RESPOND, Action.BACKCHANNEL):
            action, info["kept_acknowledgement"] = Action.LISTEN, True
        speech = (Action.RESPOND, Action.BACKCHANNEL, Action.INTERJECT)
        answered = action in speech
        backchannel = action is Action.BACKCHANNEL  # "mm-hm" leaves the turn unanswered
        if action in speech and self._spoke_last_turn:
            action = Action.LISTEN  # words started last micro-turn are already being said
        self._spoke_last_turn = action in speech
        text, task = "", None
        if action is Action.INTERJECT and cue_word is not None:
            text, info["words_from"] = cue_word, "cue"
        elif action in (Action.RESPOND, Action.BACKCHANNEL, Action.INTERJECT):
            text = self._spell(out.hidden[0, 0], action) if self.words == "decoder" else ""
            info["words_from"] = "decoder" if text else "head"
            text = text or self._words(out.reply_logits[0, 0], action)
            if action is Action.INTERJECT and not self._instructed and _norm(text) in TASK_WORDS:
                # a timed word, cue word or count nobody asked for: not said
                action, text, info["unasked_word"] = Action.LISTEN, "", text
                answered = self._spoke_last_turn = False
            if action is Action.INTERJECT and self.cue is not None:
                self.cue.model_said(text)
        elif action is Action.DELEGATE:
            # no typed text: the session hands the agent the user's recent audio to transcribe
            task = self._last_user_text or None
            sure = self.turn_end is None or info.get("p_turn_end", 0.0) >= ACK_P_END
            text = self.acknowledgement if sure and not self._acking else ""  # said once
            if text:
                self._results_at_ack = self._agent_results
            # an acknowledged delegation has answered; a silent one answers with its result
            self.unanswered.delegated(bool(text or self._acking), self._agent_results)
        self.unanswered.acted(answered and not backchannel)
        self._acking = (self._acking or bool(text)) and action in (Action.LISTEN, Action.DELEGATE)
        return Decision(
            action=action,
            probs=probs,
            text=text,
            task=task,
            attribution=attention_attribution(self.model) if self.attribution else {},
            info={"eagerness": float(self.eagerness), "p_act": float(1 - probs["listen"]), **info},
        )

    # ---- helpers -----------------------------------------------------------------------------

    def _check_turn_end(self, action: Action, turn: MicroTurn, info: dict) -> Action:
        """Hold an answer or delegation while the user only pauses; take a held one up once the
        detector hears the turn end, or after `pending_turns` silent micro-turns."""
        pending, self._pending = self._pending, None
        if pending and self._user_speaks():
            pending = None  # the user went on: the held answer is dropped
        if action is Action.LISTEN and pending and not turn.model_speaking:
            action = pending[0]
            info["pending_answer"] = True
        elif action not in (Action.RESPOND, Action.DELEGATE):
            return action
        info["p_turn_end"] = p = self.turn_end.p_end()
        if p >= self.turn_end.threshold:
            return action
        waited = info.pop("pending_answer", False)
        left = pending[1] - 1 if waited else self.pending_turns
        if left > 0:
            self._pending = (action, left)
        elif waited and self.reader is not None:  # silent all along (the VAD would have said)
            info["pending_answer"] = True
            return action
        info["held_in_pause"] = True
        return Action.LISTEN

    def _user_speaks(self, p: float = RESUME_P, frames: int = RESUME_FRAMES) -> bool:
        """The reader's VAD heard the user in this micro-turn: at least `frames` frames with
        p(speech) >= `p` (False without a reader)."""
        if self.reader is None:
            return False
        return sum(q >= p for q in self.reader.segmenter.frame_probs) >= frames

    def _reweight(self, p: torch.Tensor) -> torch.Tensor:
        w = torch.ones_like(p)
        names = self.config.actions
        gain = 0.0 if self.do_not_interrupt else 4.0 ** (2 * float(self.eagerness) - 1)
        for a in ("backchannel", "interject"):
            if a in names:
                w[names.index(a)] = gain
        if "listen" in names:
            w[names.index("listen")] = self.listen_scale
        for a, v in self.action_scales.items():
            w[names.index(a)] *= v
        return p * w

    def _spell(self, hidden: torch.Tensor, action: Action) -> str:
        """The byte decoder's words ("" when it has nothing usable to say)."""
        a = torch.tensor([SPEECH_ACTIONS.index(action.value)], device=hidden.device)
        with torch.inference_mode():
            text = self.model.byte_decoder.generate(hidden[None], a)[0].strip()
        if text == AGENT_REPLY:
            return self._last_agent_text
        return text

    def _words(self, logits: torch.Tensor, action: Action) -> str:
        replies = self.config.replies
        logits = logits.float().clone()
        logits[0] = -math.inf  # something must be said
        # the words must fit the action: an answer is a sentence (or the agent's result), a
        # back-channel is short; an interjection may be anything (a timed word, a count, ...)
        fits = {
            Action.RESPOND: lambda r: len(r.split()) >= 4 or r == AGENT_REPLY,
            Action.BACKCHANNEL: lambda r: 0 < len(r.split()) <= 2 and r != AGENT_REPLY,
        }.get(action)
        if fits is not None and any(fits(r) for r in replies[1:]):
            for i, r in enumerate(replies):
                if i and not fits(r):
                    logits[i] = -math.inf
        if not self._last_agent_text and AGENT_REPLY in replies:
            logits[replies.index(AGENT_REPLY)] = -math.inf
        word = replies[int(logits.argmax())]
        return self._last_agent_text if word == AGENT_REPLY else word
