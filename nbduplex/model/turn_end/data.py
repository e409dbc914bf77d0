"""Training windows for the turn-end detector: the last `WINDOW_S` of user audio at the end of a
micro-turn, labelled from the scenario generator's labels.

- "end" (1): the micro-turn ends 0-2.4 s after a user turn ended (the model should answer, or
  delegate), before the user speaks again (a share of those after the first second);
- "hold" (0): the micro-turn ends inside a user turn, at least 0.3 s after it started: in a
  mid-turn pause (after "..., and um,"), a back-channel gap of a narrative, or while the user
  speaks (a share of those);
- every other micro-turn is not used (silence long after a turn, instructions, ...).

The detector sees exactly what the policy keeps at run time: the raw int16 window, turned into
per-window normalised log-mel (`reader.network.log_mel`).
"""

from __future__ import annotations

import numpy as np

from nbduplex.microturn import SAMPLE_RATE
from nbduplex.model.window_classifier import Window, cut_windows

OUTPUT = "end"  # the network's one output: 0 the user holds the turn, 1 it has ended
OUTPUTS = {OUTPUT: 2}
WINDOW_S = 2.4  # seconds of user audio the detector hears
WINDOW_SAMPLES = int(WINDOW_S * SAMPLE_RATE)
END_WINDOW_S = WINDOW_S  # micro-turns ending this long after a turn end are labelled "end"
LATE_END_S, LATE_END_SHARE = 1.0, 0.3  # share of "end" micro-turns kept after LATE_END_S
HOLD_AFTER_START_S = 0.3  # "hold" only once the turn has been going this long
SPEECH_SHARE = 0.15  # share of in-speech "hold" micro-turns kept (the rest are near-duplicates)
KINDS = ("turn_taking", "pause_handling", "backchannel", "cuespeak", "interruption",
         "delegation", "timespeak")  # fmt: skip


def kind_of(seed: int) -> str:
    """The scenario kind a training seed renders (the KINDS in turn)."""
    return KINDS[seed % len(KINDS)]


def label(labels, t: float) -> str | None:
    """The label of a micro-turn ending at t: "end", "late_end" (more than LATE_END_S after the
    turn end), "hold" or None (not used)."""
    starts = sorted(s.start for s in labels.speech if s.role != "model")
    for turn in labels.turns:
        if not turn.expects_response:
            continue
        later = [s for s in starts if s > turn.end + 1e-3]
        if turn.end <= t <= turn.end + END_WINDOW_S and (not later or t < later[0]):
            return "end" if t <= turn.end + LATE_END_S else "late_end"
    for turn in labels.turns:
        if turn.start + HOLD_AFTER_START_S < t < turn.end - 1e-3:
            return "hold"
    return None


def _in_speech(labels, t: float) -> bool:
    return any(s.start < t - 0.1 and t <= s.end for s in labels.speech if s.role != "model")


def windows(scenario, rng: np.random.Generator) -> list[Window]:
    """The labelled windows of one rendered scenario."""

    def pick(t: float) -> int | None:
        y = label(scenario.labels, t)
        if y is None:
            return None
        if y == "hold" and _in_speech(scenario.labels, t) and rng.random() > SPEECH_SHARE:
            return None
        if y == "late_end" and rng.random() > LATE_END_SHARE:
            return None
        return int(y != "hold")

    return cut_windows(scenario.audio, WINDOW_SAMPLES, pick)
