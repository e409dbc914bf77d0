"""Training and scoring the cue spotter (`nbduplex train-cue`).

Data: `CueTrainConfig.scenarios` scenarios (two in three CueSpeak, data.kind_of) in the training
voices, a quarter of them spoken by Pico, a share through a narrowband channel, rendered in
worker processes and cached under ~/.cache/nbduplex/cue. Training:
window_classifier.train_window_classifier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nbduplex.model.cue.data import CLASSES, OUTPUT, kind_of, windows
from nbduplex.model.reader.network import ReaderNet
from nbduplex.model.window_classifier import (
    Window,
    WindowSource,
    WindowTrainConfig,
    class_probabilities,
)

SOURCE = WindowSource("cue", windows, kind_of, salt=13, version=1, first_seed=4_000_000)


@dataclass
class CueTrainConfig(WindowTrainConfig):
    """How the cue spotter is trained."""

    scenarios: int = 3000
    epochs: int = 8
    warp_spread: float = 0.25  # the reader's augmentation (session 8: helps other synthesisers)
    mel_blur: float = 2.0
    pico_share: float = 0.25  # session 9: a second synthesiser (flite cue words heard 0.24 -> 0.56)


build_windows = SOURCE.build


def train_cue(
    cfg: CueTrainConfig,
    data: list[Window] | None = None,
    progress: bool = True,
    init: ReaderNet | None = None,
) -> tuple[ReaderNet, dict]:
    """Train a spotter (from `init`, to fine-tune, when given); returns (network in eval mode,
    meta: data, steps, wall time, loss)."""
    return SOURCE.train(cfg, OUTPUT, len(CLASSES), data, progress, init)


def score(net: ReaderNet, data: list[Window], threshold: float = 0.5) -> dict[str, float]:
    """Cue windows heard as their word (p >= threshold), cue windows taken for another cue,
    and "none" windows in which some cue word reaches the threshold (false alarms)."""
    p = class_probabilities(net, data, OUTPUT)
    y = np.array([w.y for w in data])
    cue, none = y > 0, y == 0
    heard = p[np.arange(len(y)), y] >= threshold
    other = p.copy()
    other[np.arange(len(y)), y] = 0
    other[:, 0] = 0
    wrong = other.max(1) >= threshold
    nan = math.nan
    return {
        "windows": float(len(y)),
        "cue_windows": float(cue.sum()),
        "heard": float(heard[cue].mean()) if cue.any() else nan,
        "wrong_cue": float(wrong[cue].mean()) if cue.any() else nan,
        "false_alarm": float(wrong[none].mean()) if none.any() else nan,
    }
