"""`nbduplex train-reader`: train the spoken-instruction reader and put it into a checkpoint.

nbduplex train-reader --checkpoint runs/m1/model.pt          # 6000 scenarios, ~25 min on 2 cores
nbduplex train-reader --checkpoint runs/m1/model.pt --scenarios 300 --epochs 2   # a smoke run

It then scores the reader on unseen seeds of the training voices, on the held-out espeak voices
and on flite (when installed), prints the table and stores it in the reader's meta.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nbduplex.model.reader.reader import DEFAULT_THRESHOLD
from nbduplex.model.reader.store import save_reader
from nbduplex.model.reader.train import ReaderTrainConfig, build_crops, score, train_reader

EVAL_SEEDS = {"train-voices": 500_000, "heldout": 700_000, "flite": 800_000}


def build_parser() -> argparse.ArgumentParser:
    """Arguments of `nbduplex train-reader`."""
    d = ReaderTrainConfig()
    p = argparse.ArgumentParser(prog="nbduplex train-reader", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=None, help="model checkpoint to add the reader to "
                   "(default: the shipped one)")  # fmt: skip
    p.add_argument("--scenarios", type=int, default=d.scenarios)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--narrowband", type=float, default=d.narrowband)
    p.add_argument("--workers", type=int, default=d.workers, help="processes rendering data")
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads for training")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help="minimum confidence of a reading")  # fmt: skip
    p.add_argument("--eval-scenarios", type=int, default=300,
                   help="scenarios per evaluation set (0: no evaluation)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    return p


def evaluate_reader(net, threshold: float, n: int, workers: int = 2) -> dict[str, dict]:
    """Scores on unseen training-voice seeds, held-out espeak voices and flite."""
    from nbduplex.tts import available

    sets = {"train-voices": ("espeak", "train"), "heldout": ("espeak", "heldout")}
    if available("flite"):
        sets["flite"] = ("flite", None)
    out = {}
    for name, (synth, voices) in sets.items():
        s0 = EVAL_SEEDS[name]
        data = build_crops(range(s0, s0 + n), synth=synth, voices=voices, workers=workers)
        out[name] = score(net, data, threshold)
    return out


def train_reader_main(argv: list[str] | None = None, checkpoint: str | Path | None = None) -> Path:
    """Entry point: train, evaluate, save into the checkpoint; returns its path."""
    from nbduplex.model.location import DEFAULT_CHECKPOINT

    args = build_parser().parse_args(argv)
    path = Path(checkpoint or args.checkpoint or DEFAULT_CHECKPOINT)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} to add a reader to")
    cfg = ReaderTrainConfig(scenarios=args.scenarios, epochs=args.epochs, seed=args.seed,
                            narrowband=args.narrowband, workers=args.workers,
                            threads=args.threads)  # fmt: skip
    net, meta = train_reader(cfg, progress=not args.no_progress)
    if args.eval_scenarios:
        meta["eval"] = evaluate_reader(net, args.threshold, args.eval_scenarios, args.workers)
        for name, s in meta["eval"].items():
            print(
                f"{name:13s} instructions {s['instructions']:4d}  read right "
                f"{s['read_right']:.3f}  missed {s['missed']:.3f}  wrong {s['read_wrong']:.3f}"
                f"  |  others {s['others']:4d}  read as instructions {s['false_reads']:.3f}"
            )
    save_reader(path, net, args.threshold, meta)
    print(f"reader saved into {path}")
    return path


if __name__ == "__main__":
    train_reader_main()
