"""`nbduplex train-cue`: train the cue spotter and put it into a checkpoint.

nbduplex train-cue --checkpoint runs/m1/model.pt     # 3000 scenarios, ~30 min on 2 cores
nbduplex train-cue --checkpoint runs/m1/model.pt --scenarios 100 --epochs 1   # smoke run

It then scores the spotter on unseen seeds of the training voices, on the held-out espeak
voices, on flite and on the festival development set (when installed), prints the table and
stores it in the spotter's meta.
"""

from __future__ import annotations

from pathlib import Path

from nbduplex.model.cue import train
from nbduplex.model.cue.spotter import DEFAULT_THRESHOLD
from nbduplex.model.cue.store import load_cue, save_cue
from nbduplex.model.window_classifier_cli import ClassifierCommand, run


def _row(name: str, s: dict) -> str:
    return (
        f"{name:13s} windows {int(s['windows']):6d}  cue windows heard {s['heard']:.3f}"
        f"  as another cue {s['wrong_cue']:.3f}  false alarms {s['false_alarm']:.4f}"
    )


COMMAND = ClassifierCommand(
    prog="nbduplex train-cue",
    doc=__doc__,
    what="cue spotter",
    config=train.CueTrainConfig,
    threshold=DEFAULT_THRESHOLD,
    threshold_help="p(cue word) from which the instructed word is said",
    train=train.train_cue,
    build_windows=train.build_windows,
    score=train.score,
    row=_row,
    load=load_cue,
    save=save_cue,
)


def train_cue_main(argv: list[str] | None = None, checkpoint: str | Path | None = None) -> Path:
    """Entry point: train, evaluate, save into the checkpoint; returns its path."""
    return run(COMMAND, argv, checkpoint)


if __name__ == "__main__":
    train_cue_main()
