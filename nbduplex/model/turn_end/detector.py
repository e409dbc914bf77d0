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

from nbduplex.model.reader.network import ReaderNet
from nbduplex.model.turn_end.data import OUTPUT, WINDOW_SAMPLES
from nbduplex.model.window_classifier import WindowListener

DEFAULT_THRESHOLD = 0.5


class TurnEndDetector(WindowListener):
    """Keeps the last WINDOW_S of user audio; `p_end()` reads it (once per micro-turn)."""

    def __init__(self, net: ReaderNet, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__(net, OUTPUT, WINDOW_SAMPLES)
        self.threshold = threshold

    def p_end(self) -> float:
        """p(the user's turn has ended) for the audio pushed so far."""
        return float(self.probabilities()[1])

    def holds(self) -> bool:
        """True when the user is only pausing (p_end below the threshold)."""
        return self.p_end() < self.threshold
