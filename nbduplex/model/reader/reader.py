"""The spoken-instruction reader at run time: segmenter + network, one micro-turn at a time.

    reader = InstructionReader(net)
    command = reader.push(turn.audio)   # a Command when an instruction has just been said

The interaction model reads typed instructions well but cannot parse spoken ones from dMel
(its spoken TimeSpeak / CueSpeak accuracy was 0); the policy hands it the typed form of what
the reader heard, in the micro-turn where the instruction ended. Readings below `threshold`
confidence are dropped (ordinary speech must not turn into instructions).
"""

from __future__ import annotations

import numpy as np

from nbduplex.model.reader.network import ReaderNet, log_mel
from nbduplex.model.reader.segmenter import UtteranceSegmenter
from nbduplex.scenarios.commands import Command

DEFAULT_THRESHOLD = 0.3  # chosen on training voices + festival (session 8; 0.5 before)


class InstructionReader:
    """Streams user audio; `push` returns the Command of an instruction that has just ended."""

    def __init__(
        self,
        net: ReaderNet,
        threshold: float = DEFAULT_THRESHOLD,
        segmenter: UtteranceSegmenter | None = None,
    ) -> None:
        self.net = net.eval()
        self.threshold = threshold
        self.segmenter = segmenter or UtteranceSegmenter()
        self.last: tuple[Command | None, float] | None = None  # latest reading and confidence

    def reset(self) -> None:
        """A new session."""
        self.segmenter.reset()
        self.last = None

    def push(self, chunk: np.ndarray) -> Command | None:
        """Feed one micro-turn of int16 user audio."""
        audio = self.segmenter.push(chunk)
        if audio is None:
            return None
        command, confidence = self.net.read(log_mel(audio))
        self.last = (command, confidence)
        if command is None or confidence < self.threshold:
            return None
        self.segmenter.consume()
        return command
