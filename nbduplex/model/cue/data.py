"""Training windows for the cue spotter: the last `WINDOW_S` of user audio at the end of a
micro-turn, labelled from the scenario generator's word timings.

- class 1 + i (`CUE_WORDS[i]`): the micro-turn ends between `EARLY_S` before and `LATE_S` after
  the end of that word (the moments at which saying the instructed word is on time);
- class 0 ("none"): the user speaks, or stopped less than `AFTER_SPEECH_S` ago, and no cue word
  ends near (a share `NONE_SHARE` of those; a share `SILENCE_SHARE` of silent micro-turns);
- micro-turns just outside a cue word's window are not used (neither clearly on nor off).

Cue words come from CueSpeak scenarios (the instruction, a distractor cue word, the cue), which
are two thirds of the seeds; the other third are other conversational kinds (more speech
without cue words).
"""

from __future__ import annotations

import numpy as np

from nbduplex.microturn import SAMPLE_RATE
from nbduplex.model.window_classifier import Window, cut_windows
from nbduplex.scenarios.text import CUE_WORDS

OUTPUT = "cue"
CLASSES = ("none", *CUE_WORDS)
WINDOW_S = 1.6  # seconds of user audio the spotter hears (the longest cue word is ~0.9 s)
WINDOW_SAMPLES = int(WINDOW_S * SAMPLE_RATE)
EARLY_S, LATE_S = 0.05, 0.45  # a micro-turn ending in [end - EARLY_S, end + LATE_S) is the cue
MARGIN_S = 0.2  # not used: this much further either side
AFTER_SPEECH_S = 0.6
NONE_SHARE, SILENCE_SHARE = 0.35, 0.05
OTHER_KINDS = ("turn_taking", "pause_handling", "backchannel", "timespeak", "delegation")


def kind_of(seed: int) -> str:
    """The scenario kind a training seed renders (two in three are CueSpeak)."""
    return OTHER_KINDS[(seed // 3) % len(OTHER_KINDS)] if seed % 3 == 0 else "cuespeak"


def _cue_words(labels) -> list[tuple[int, float]]:
    """(class, end time) of every cue word the user says."""
    out = []
    for seg in labels.speech:
        if seg.role == "model":
            continue
        for w, _, e in seg.words:
            w = w.lower().strip(",.!?;:")
            if w in CUE_WORDS:
                out.append((1 + CUE_WORDS.index(w), e))
    return out


def label(labels, t: float) -> int | None:
    """The class of a micro-turn ending at t, "none" as 0, or None (not used)."""
    unsure = False
    for y, e in _cue_words(labels):
        if e - EARLY_S <= t < e + LATE_S:
            return y
        if e - EARLY_S - MARGIN_S <= t < e + LATE_S + MARGIN_S:
            unsure = True
    return None if unsure else 0


def _speech_near(labels, t: float) -> bool:
    return any(s.start < t and t <= s.end + AFTER_SPEECH_S
               for s in labels.speech if s.role != "model")  # fmt: skip


def windows(scenario, rng: np.random.Generator) -> list[Window]:
    """The labelled windows of one rendered scenario."""

    def pick(t: float) -> int | None:
        y = label(scenario.labels, t)
        if y == 0:
            share = NONE_SHARE if _speech_near(scenario.labels, t) else SILENCE_SHARE
            if rng.random() > share:
                return None
        return y

    return cut_windows(scenario.audio, WINDOW_SAMPLES, pick)
