"""The turn-end detector at run time: is the user done, or only pausing mid-turn?

    detector = TurnEndDetector(net)
    detector.push(turn.audio)          # every micro-turn
    detector.p_end()                   # p(the user's turn has ended), computed on demand

The interaction model takes the turn in about a quarter of mid-turn pauses ("..., and um,"); the
policy asks the detector only when the model decides to answer or delegate, and keeps listening
when p_end is below `threshold` (calibrated on training voices). The detector hears the last
WINDOW_S of user audio as per-window normalised log-mel (a few ms on one CPU thread).
"""

from __future__ import annotations

import numpy as np
import torch

from nbduplex.model.reader.network import ReaderNet, log_mel
from nbduplex.model.turn_end.data import WINDOW_SAMPLES

DEFAULT_THRESHOLD = 0.5


class TurnEndDetector:
    """Keeps the last WINDOW_S of user audio; `p_end()` reads it (once per micro-turn)."""

    def __init__(self, net: ReaderNet, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.net = net.eval()
        self.threshold = threshold
        self.reset()

    def reset(self) -> None:
        """A new session."""
        self._audio = np.zeros(WINDOW_SAMPLES, np.int16)
        self._p: float | None = None

    def push(self, chunk: np.ndarray) -> None:
        """Feed one micro-turn of int16 user audio."""
        chunk = np.asarray(chunk, np.int16)[-WINDOW_SAMPLES:]
        self._audio = np.concatenate([self._audio[chunk.size :], chunk])
        self._p = None

    @torch.inference_mode()
    def p_end(self) -> float:
        """p(the user's turn has ended) for the audio pushed so far."""
        if self._p is None:
            x = torch.as_tensor(log_mel(self._audio).astype(np.float32))[None]
            logits = self.net(x, torch.tensor([x.shape[1]]))["end"][0]
            self._p = float(logits.float().softmax(-1)[1])
        return self._p

    def holds(self) -> bool:
        """True when the user is only pausing (p_end below the threshold)."""
        return self.p_end() < self.threshold
