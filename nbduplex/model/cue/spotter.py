"""The cue spotter at run time: has the user just said the cue word of a CueSpeak instruction?

    spotter = CueSpotter(net)
    spotter.push(turn.audio)           # every micro-turn
    spotter.p_cue("banana")            # p(the user has just said "banana"), computed on demand

The interaction model hears cue words in the training voices but misses most of them in an
unseen synthesiser (flite); the policy arms the spotter when an instruction "say X when I say
Y" is typed or heard, and says X in the micro-turn the spotter hears Y (p >= `threshold`).
"""

from __future__ import annotations

from nbduplex.model.cue.data import CLASSES, OUTPUT, WINDOW_SAMPLES
from nbduplex.model.reader.network import ReaderNet
from nbduplex.model.window_classifier import WindowListener

DEFAULT_THRESHOLD = 0.85  # chosen end to end (training voices + festival; model card, session 11)


class CueSpotter(WindowListener):
    """Keeps the last WINDOW_S of user audio; `p_cue(word)` reads it (once per micro-turn)."""

    def __init__(self, net: ReaderNet, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__(net, OUTPUT, WINDOW_SAMPLES)
        self.threshold = threshold

    def p_cue(self, word: str) -> float:
        """p(the user has just said `word`) for the audio pushed so far."""
        if word not in CLASSES[1:]:
            raise ValueError(f"{word!r} is not a cue word; one of {CLASSES[1:]}")
        return float(self.probabilities()[CLASSES.index(word)])

    def hears(self, word: str) -> bool:
        """True when the user has just said `word` (p_cue at or above the threshold)."""
        return self.p_cue(word) >= self.threshold
