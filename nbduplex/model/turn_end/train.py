"""Training and scoring the turn-end detector (`nbduplex train-turn-end`).

Data: `TurnEndTrainConfig.scenarios` scenarios of the conversational kinds (data.KINDS, in turn)
in the training voices, a share through a narrowband channel, rendered in worker processes and
cached under ~/.cache/nbduplex/turn_end. Training: window_classifier.train_window_classifier.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nbduplex.model.reader.network import ReaderNet
from nbduplex.model.turn_end.data import OUTPUT, kind_of, windows
from nbduplex.model.window_classifier import (
    Window,
    WindowSource,
    WindowTrainConfig,
    class_probabilities,
)

SOURCE = WindowSource("turn_end", windows, kind_of, salt=7, version=2, first_seed=2_000_000)
# data version 2: windows carry `y` (was `end`)


@dataclass
class TurnEndTrainConfig(WindowTrainConfig):
    """How the turn-end detector is trained."""

    scenarios: int = 2100
    epochs: int = 6


build_windows = SOURCE.build


def train_turn_end(
    cfg: TurnEndTrainConfig,
    data: list[Window] | None = None,
    progress: bool = True,
    init: ReaderNet | None = None,
) -> tuple[ReaderNet, dict]:
    """Train a detector (from `init`, to fine-tune, when given); returns (network in eval mode,
    meta: data, steps, wall time, loss)."""
    net, meta = SOURCE.train(cfg, OUTPUT, 2, data, progress, init)
    return net, {**meta, "turn_ends": meta["per_class"][1]}


def end_probabilities(net: ReaderNet, data: list[Window]) -> np.ndarray:
    """p(turn ended) for each window."""
    p = class_probabilities(net, data, OUTPUT)
    return p[:, 1] if len(p) else np.zeros(0)


def score(net: ReaderNet, data: list[Window], threshold: float = 0.5) -> dict[str, float]:
    """Recall of turn ends and of holds at `threshold`, and the ROC AUC."""
    p = end_probabilities(net, data)
    y = np.array([w.y for w in data])
    pos, neg = p[y == 1], p[y == 0]
    auc = float((pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean())
    return {
        "windows": float(len(y)),
        "end_recall": float((pos >= threshold).mean()) if pos.size else math.nan,
        "hold_recall": float((neg < threshold).mean()) if neg.size else math.nan,
        "auc": auc if pos.size and neg.size else math.nan,
    }
