"""Notices a user turn nothing answered, and says when the model should answer it anyway.

The transformer sometimes lets a turn end pass. The silence answer catches it (with the reader's
VAD): the user spoke, nothing answered, and then `silence_turns` micro-turns passed in silence
(longer than the training recipe's mid-turn pauses), so the model answers.

It does not answer for `INSTRUCTED_QUIET_TURNS` (10 s) after an instruction (an answer then
would run over the instructed word, count or cue), nor while a silent delegation's result may
still come: a delegation without a spoken acknowledgement is answered by its result, so the wait
lasts `DELEGATION_PATIENCE_TURNS` (2 s), and a result in that time answers the turn (the agent
stays quiet about a spoken request no tool fits, which would leave the user unanswered).
"""

from __future__ import annotations

from nbduplex.model.cue.listener import CUE_SPEECH_TURNS

SILENCE_ANSWER_TURNS = 9  # a good `silence_turns`: longer than the recipe's mid-turn pauses
INSTRUCTED_QUIET_TURNS = 50  # ... but not this soon after an instruction (its task is running)
DELEGATION_PATIENCE_TURNS = 10  # ... nor this soon after a silent delegation, before its result


class UnansweredTurn:
    """Per-session state: `hear()` each micro-turn before deciding, `answer()` when the model
    would listen, then `acted()` (and `delegated()`) with what it did."""

    def __init__(self, silence_turns: int = SILENCE_ANSWER_TURNS) -> None:
        self.silence_turns = int(silence_turns)  # 0: never answer a silence
        self.reset()

    def reset(self) -> None:
        """A new session."""
        self.pending = False  # the user spoke (not an instruction) and the model has not acted
        self.since_speech = CUE_SPEECH_TURNS  # micro-turns since the VAD last heard the user
        self._since_instruction = INSTRUCTED_QUIET_TURNS  # micro-turns since the last instruction
        self._delegation_wait = 0  # micro-turns left to wait for a silent delegation's result
        self._results_at_delegation = 0  # agent results received when it was made

    def hear(
        self, speaks: bool, model_speaking: bool, read: bool, instructed: bool, results: int
    ) -> None:
        """One micro-turn's input: the VAD heard the user (`speaks`), the model was speaking, the
        reader read an instruction (`read`), an instruction came (typed or read), and the count
        of agent results received so far."""
        if self._delegation_wait:
            self._delegation_wait -= 1
            if results > self._results_at_delegation:  # the model says the result
                self.pending, self._delegation_wait = False, 0
        self.since_speech = 0 if speaks else self.since_speech + 1
        self.pending = (self.pending or (speaks and not model_speaking)) and not read
        self._since_instruction = 0 if instructed else self._since_instruction + 1

    def answer(self, busy: bool) -> bool:
        """The model should answer now, though it would listen. `busy`: it speaks, or has an
        answer of its own on hold."""
        if not self.pending or busy or self._delegation_wait or not self.silence_turns:
            return False
        free = self._since_instruction >= INSTRUCTED_QUIET_TURNS  # no task of its own running
        return free and self.since_speech >= self.silence_turns

    def acted(self, answered: bool) -> None:
        """The model's decision this micro-turn: it started words that answer the turn (not a
        back-channel, which says go on)."""
        self.pending &= not answered

    def delegated(self, acknowledged: bool, results: int) -> None:
        """The model delegated: an acknowledgement answers the turn; otherwise the result will,
        so the answers wait for it (for `DELEGATION_PATIENCE_TURNS`)."""
        self.pending &= not acknowledged
        self._delegation_wait = DELEGATION_PATIENCE_TURNS
        self._results_at_delegation = results
