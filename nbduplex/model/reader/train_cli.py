"""`nbduplex train-reader`: train the spoken-instruction reader and put it into a checkpoint.

nbduplex train-reader --checkpoint runs/m1/model.pt          # 6000 scenarios, ~45 min on 2 cores
nbduplex train-reader --checkpoint runs/m1/model.pt --scenarios 300 --epochs 2   # a smoke run
nbduplex train-reader --checkpoint runs/m1/model.pt --fine-tune --lr 5e-4 --epochs 4 \
    --pico-share 0.25        # then: a quarter Pico speech, from that reader
nbduplex train-reader --checkpoint runs/m1/model.pt --fine-tune --lr 3e-4 --epochs 4 \
    --seed 14 --pico-share 0.5   # then: half Pico speech (the shipped recipe's last stage)

It then scores the reader on unseen seeds of the training voices, on the held-out espeak voices,
on flite and on the festival development set (when installed), prints the table and stores it
in the reader's meta.
"""

from __future__ import annotations

from pathlib import Path

from nbduplex.model.reader import train
from nbduplex.model.reader.reader import DEFAULT_THRESHOLD
from nbduplex.model.reader.store import load_reader, save_reader
from nbduplex.model.window_classifier_cli import ClassifierCommand, run

# the shipped reader's later stages, each a warm start from the one before: a quarter of the
# speech Pico's (session 10), then half of it, new seeds, a gentler rate (session 15)
PICO_FINE_TUNES = (
    ["--fine-tune", "--lr", "5e-4", "--epochs", "4", "--pico-share", "0.25"],
    ["--fine-tune", "--lr", "3e-4", "--epochs", "4", "--seed", "14", "--pico-share", "0.5"],
)

# (synthesiser, voices, narrowband share, first seed) of the evaluation sets
EVAL_SETS = {
    "train-voices": ("espeak", "train", 0.0, 500_000),
    "heldout": ("espeak", "heldout", 0.0, 700_000),
    "flite": ("flite", None, 0.0, 800_000),
    "festival-dev": ("festival", None, 0.0, 900_000),
}


def _row(name: str, s: dict) -> str:
    return (f"{name:13s} instructions {s['instructions']:4d}  read right {s['read_right']:.3f}"
            f"  missed {s['missed']:.3f}  wrong {s['read_wrong']:.3f}  |  others "
            f"{s['others']:4d}  read as instructions {s['false_reads']:.3f}")  # fmt: skip


COMMAND = ClassifierCommand(
    prog="nbduplex train-reader",
    doc=__doc__,
    what="reader",
    config=train.ReaderTrainConfig,
    threshold=DEFAULT_THRESHOLD,
    threshold_help="minimum confidence of a reading",
    train=train.train_reader,
    build_windows=train.build_crops,
    score=train.score,
    row=_row,
    load=load_reader,
    save=save_reader,
    eval_sets=EVAL_SETS,
    eval_scenarios=300,
)


def train_reader_main(argv: list[str] | None = None, checkpoint: str | Path | None = None) -> Path:
    """Entry point: train, evaluate, save into the checkpoint; returns its path."""
    return run(COMMAND, argv, checkpoint)


if __name__ == "__main__":
    train_reader_main()
