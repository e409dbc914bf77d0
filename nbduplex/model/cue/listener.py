"""Listening for CueSpeak cue words during a session, on top of the run-time `CueSpotter`.

An instruction "say X when I say Y" (typed, or heard by the reader) arms Y; from
`CUE_ARM_TURNS` micro-turns later, X is due in the micro-turn where the spotter starts hearing
Y: p(Y) crosses its threshold from below (the instruction itself ends with Y). Then Y is
ignored for `CUE_QUIET_TURNS`. With a VAD, the spotter reads only while the user spoke in the
last `CUE_SPEECH_TURNS` micro-turns (a cue word ends in speech), and a pause counts as the
reading falling only once it is `CUE_CLEAR_TURNS` long (the spotter's whole window): after a
shorter one the window still holds the words before it, so the instruction's own cue word is
not heard anew when the user goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from nbduplex.microturn import MICROTURN_S, TextEvent
from nbduplex.model.cue.data import WINDOW_S
from nbduplex.model.cue.spotter import CueSpotter
from nbduplex.scenarios.commands import parse

CUE_ARM_TURNS = 3  # a cue said in the instruction itself has left the spotter's window by then
CUE_QUIET_TURNS = 5  # after saying the word, the same cue is ignored this long
CUE_SPEECH_TURNS = 3  # the spotter reads only if the VAD heard speech this recently
CUE_CLEAR_TURNS = round(WINDOW_S / MICROTURN_S)  # a pause this long clears the spotter's window


@dataclass
class ArmedCue:
    """A CueSpeak instruction being listened for."""

    word: str  # what to say when the cue is heard
    age: int = 0  # micro-turns since the instruction
    quiet: int = 0  # micro-turns left in which the cue is ignored (it was just answered)
    ready: bool = False  # the spotter has heard the cue below its threshold since


class CueListener:
    """The cues armed in one session and when their words are due (one `listen` per turn)."""

    def __init__(self, spotter: CueSpotter) -> None:
        self.spotter = spotter
        self.clear_turns = CUE_CLEAR_TURNS
        self.armed: dict[str, ArmedCue] = {}  # cue word -> what to say when it is heard

    def reset(self) -> None:
        """Start a new session: nothing armed, an empty window."""
        self.spotter.reset()
        self.armed = {}

    def push(self, audio: np.ndarray, text: Iterable[TextEvent]) -> None:
        """This micro-turn's user audio, and the text it brought (instructions arm cues)."""
        self.spotter.push(audio)
        for e in text:
            command = parse(e.text) if e.role == "user" and e.text else None
            if command is not None and command.template == "when":
                self.armed[command.cue] = ArmedCue(command.word)

    def listen(self, since_speech: int | None, busy: bool, info: dict) -> str | None:
        """The word to say now because the spotter heard its cue (None: no cue heard).
        `since_speech`: micro-turns since the VAD heard the user (None: no VAD, always read);
        `busy`: the model is speaking (a due word is not said over it). Sets `info["p_cue"]`,
        and `info["cue_heard"]` when a word is due."""
        said = None
        for cue, armed in self.armed.items():
            armed.age += 1
            armed.quiet = max(0, armed.quiet - 1)
            if armed.age <= CUE_ARM_TURNS:
                continue
            if since_speech is not None and since_speech >= CUE_SPEECH_TURNS:  # nothing to hear
                info["p_cue"] = 0.0
                armed.ready |= since_speech >= self.clear_turns
                continue
            info["p_cue"] = p = self.spotter.p_cue(cue)
            if p < self.spotter.threshold:
                armed.ready = True
                continue
            if armed.ready and not (said or armed.quiet or busy):
                said, armed.quiet, armed.ready = armed.word, CUE_QUIET_TURNS, False
                info["cue_heard"] = cue
        return said

    def model_said(self, word: str) -> None:
        """The model interjected `word` by itself: a cue armed to say it stays quiet a while."""
        for armed in self.armed.values():
            if armed.word == word:
                armed.quiet = CUE_QUIET_TURNS
