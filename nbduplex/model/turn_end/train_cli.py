"""`nbduplex train-turn-end`: train the turn-end detector and put it into a checkpoint.

nbduplex train-turn-end --checkpoint runs/m1/model.pt     # 2100 scenarios, ~30 min on 2 cores
nbduplex train-turn-end --checkpoint runs/m1/model.pt --scenarios 100 --epochs 1   # smoke run

It then scores the detector on unseen seeds of the training voices, on the held-out espeak
voices, on flite and on the festival development set (when installed), prints the table and
stores it in the detector's meta.
"""

from __future__ import annotations

from pathlib import Path

from nbduplex.model.turn_end import train
from nbduplex.model.turn_end.detector import DEFAULT_THRESHOLD
from nbduplex.model.turn_end.store import load_turn_end, save_turn_end
from nbduplex.model.window_classifier_cli import ClassifierCommand, run


def _row(name: str, s: dict) -> str:
    return (f"{name:13s} windows {int(s['windows']):6d}  turn ends heard {s['end_recall']:.3f}"
            f"  pauses held {s['hold_recall']:.3f}  AUC {s['auc']:.3f}")  # fmt: skip


COMMAND = ClassifierCommand(
    prog="nbduplex train-turn-end",
    doc=__doc__,
    what="turn-end detector",
    config=train.TurnEndTrainConfig,
    threshold=DEFAULT_THRESHOLD,
    threshold_help="p(turn ended) below which an answer waits",
    train=train.train_turn_end,
    build_windows=train.build_windows,
    score=train.score,
    row=_row,
    load=load_turn_end,
    save=save_turn_end,
)


def train_turn_end_main(
    argv: list[str] | None = None, checkpoint: str | Path | None = None
) -> Path:
    """Entry point: train, evaluate, save into the checkpoint; returns its path."""
    return run(COMMAND, argv, checkpoint)


if __name__ == "__main__":
    train_turn_end_main()
