"""`nbduplex train-turn-end`: train the turn-end detector and put it into a checkpoint.

nbduplex train-turn-end --checkpoint runs/m1/model.pt     # 2100 scenarios, ~30 min on 2 cores
nbduplex train-turn-end --checkpoint runs/m1/model.pt --scenarios 100 --epochs 1   # smoke run

It then scores the detector on unseen seeds of the training voices, on the held-out espeak
voices and on flite (when installed), prints the table and stores it in the detector's meta.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nbduplex.model.turn_end.detector import DEFAULT_THRESHOLD
from nbduplex.model.turn_end.store import save_turn_end
from nbduplex.model.turn_end.train import (
    TurnEndTrainConfig,
    build_windows,
    score,
    train_turn_end,
)

EVAL_SEEDS = {"train-voices": 30_000, "heldout": 700_000, "flite": 800_000}


def build_parser() -> argparse.ArgumentParser:
    """Arguments of `nbduplex train-turn-end`."""
    d = TurnEndTrainConfig()
    p = argparse.ArgumentParser(prog="nbduplex train-turn-end",
                                description=__doc__.split("\n")[0])  # fmt: skip
    p.add_argument("--checkpoint", default=None, help="model checkpoint to add the detector to "
                   "(default: the shipped one)")  # fmt: skip
    p.add_argument("--scenarios", type=int, default=d.scenarios)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--narrowband", type=float, default=d.narrowband)
    p.add_argument("--workers", type=int, default=d.workers, help="processes rendering data")
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads for training")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help="p(turn ended) below which an answer waits")  # fmt: skip
    p.add_argument("--eval-scenarios", type=int, default=280,
                   help="scenarios per evaluation set (0: no evaluation)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    return p


def evaluate_turn_end(net, threshold: float, n: int, workers: int = 2) -> dict[str, dict]:
    """Window scores on unseen training-voice seeds, held-out espeak voices and flite."""
    from nbduplex.tts import available

    sets = {"train-voices": ("espeak", "train", 0.3), "heldout": ("espeak", "heldout", 0.0)}
    if available("flite"):
        sets["flite"] = ("flite", None, 0.0)
    out = {}
    for name, (synth, voices, nb) in sets.items():
        s0 = EVAL_SEEDS[name]
        data = build_windows(range(s0, s0 + n), synth=synth, voices=voices, narrowband=nb,
                             workers=workers)  # fmt: skip
        out[name] = score(net, data, threshold)
    return out


def train_turn_end_main(
    argv: list[str] | None = None, checkpoint: str | Path | None = None
) -> Path:
    """Entry point: train, evaluate, save into the checkpoint; returns its path."""
    from nbduplex.model.location import DEFAULT_CHECKPOINT

    args = build_parser().parse_args(argv)
    path = Path(checkpoint or args.checkpoint or DEFAULT_CHECKPOINT)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} to add a turn-end detector to")
    cfg = TurnEndTrainConfig(scenarios=args.scenarios, epochs=args.epochs, seed=args.seed,
                             narrowband=args.narrowband, workers=args.workers,
                             threads=args.threads)  # fmt: skip
    net, meta = train_turn_end(cfg, progress=not args.no_progress)
    if args.eval_scenarios:
        meta["eval"] = evaluate_turn_end(net, args.threshold, args.eval_scenarios, args.workers)
        for name, s in meta["eval"].items():
            print(
                f"{name:13s} windows {int(s['windows']):6d}  turn ends heard "
                f"{s['end_recall']:.3f}  pauses held {s['hold_recall']:.3f}  AUC {s['auc']:.3f}"
            )
    save_turn_end(path, net, args.threshold, meta)
    print(f"turn-end detector saved into {path}")
    return path


if __name__ == "__main__":
    train_turn_end_main()
