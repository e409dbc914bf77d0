"""The shared shape of `nbduplex train-reader`, `train-turn-end` and `train-cue`: train a small
audio classifier, score it on unseen training-voice seeds, held-out espeak voices, flite and the
festival development set (those two when installed), print the table, store the scores in its
meta and the network in a checkpoint."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# evaluation sets: (synthesiser, voices, narrowband share, first seed)
EVAL_SETS = {
    "train-voices": ("espeak", "train", 0.3, 30_000),
    "heldout": ("espeak", "heldout", 0.0, 700_000),
    "flite": ("flite", None, 0.0, 800_000),
    "festival-dev": ("festival", None, 0.0, 900_000),
}


@dataclass
class ClassifierCommand:
    """What differs between the classifier commands."""

    prog: str  # "nbduplex train-cue"
    doc: str  # the CLI module's docstring (its first line is the description)
    what: str  # "cue spotter", for messages
    config: type  # a ReaderTrainConfig subclass with the command's defaults
    threshold: float  # default decision threshold
    threshold_help: str
    train: Callable  # (config, progress=...) -> (net, meta)
    build_windows: Callable  # (seeds, synth=, voices=, narrowband=, workers=) -> windows
    score: Callable  # (net, windows, threshold) -> dict of floats
    row: Callable[[str, dict], str]  # one printed line per evaluation set
    save: Callable  # (checkpoint, net, threshold, meta) -> Path
    load: Callable  # checkpoint dict -> (net, threshold) or None: the network it holds
    eval_sets: dict = field(default_factory=lambda: dict(EVAL_SETS))
    eval_scenarios: int = 280  # default scenarios per evaluation set


def build_parser(cmd: ClassifierCommand) -> argparse.ArgumentParser:
    """The command's arguments."""
    d = cmd.config()
    p = argparse.ArgumentParser(prog=cmd.prog, description=cmd.doc.split("\n")[0])
    p.add_argument("--checkpoint", default=None, help=f"model checkpoint to add the {cmd.what} "
                   "to (default: the shipped one)")  # fmt: skip
    p.add_argument("--scenarios", type=int, default=d.scenarios)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    p.add_argument("--fine-tune", action="store_true",
                   help=f"start from the checkpoint's {cmd.what} instead of from scratch "
                   "(with a lower --lr and fewer --epochs)")  # fmt: skip
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--narrowband", type=float, default=d.narrowband)
    p.add_argument("--pico-share", type=float, default=d.pico_share,
                   help="share of training scenarios spoken by Pico instead of espeak")  # fmt: skip
    p.add_argument("--workers", type=int, default=d.workers, help="processes rendering data")
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads for training")
    p.add_argument("--threshold", type=float, default=cmd.threshold, help=cmd.threshold_help)
    p.add_argument("--eval-scenarios", type=int, default=cmd.eval_scenarios,
                   help="scenarios per evaluation set (0: no evaluation)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    return p


def evaluate_sets(cmd: ClassifierCommand, net, threshold: float, n: int,
                  workers: int = 2) -> dict[str, dict]:  # fmt: skip
    """Scores on each evaluation set (flite and festival only when installed)."""
    from nbduplex.tts import available

    out = {}
    for name, (synth, voices, nb, s0) in cmd.eval_sets.items():
        if synth != "espeak" and not available(synth):
            continue
        data = cmd.build_windows(range(s0, s0 + n), synth=synth, voices=voices, narrowband=nb,
                                 workers=workers)  # fmt: skip
        out[name] = cmd.score(net, data, threshold)
    return out


def run(cmd: ClassifierCommand, argv: list[str] | None, checkpoint: str | Path | None) -> Path:
    """Train, evaluate, save into the checkpoint; returns its path."""
    from nbduplex.model.location import DEFAULT_CHECKPOINT

    args = build_parser(cmd).parse_args(argv)
    path = Path(checkpoint or args.checkpoint or DEFAULT_CHECKPOINT)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} to add a {cmd.what} to")
    init = None
    if args.fine_tune:
        from nbduplex.model.checkpoint import read_checkpoint

        found = cmd.load(read_checkpoint(path))
        if found is None:
            raise ValueError(f"--fine-tune: {path} holds no {cmd.what} to start from")
        init = found[0]
    cfg = cmd.config(scenarios=args.scenarios, epochs=args.epochs, seed=args.seed, lr=args.lr,
                     narrowband=args.narrowband, workers=args.workers, threads=args.threads,
                     pico_share=args.pico_share, fine_tune=args.fine_tune)  # fmt: skip
    net, meta = cmd.train(cfg, progress=not args.no_progress, init=init)
    if args.eval_scenarios:
        meta["eval"] = evaluate_sets(cmd, net, args.threshold, args.eval_scenarios, args.workers)
        for name, s in meta["eval"].items():
            print(cmd.row(name, s))
    cmd.save(path, net, args.threshold, meta)
    print(f"{cmd.what} saved into {path}")
    return path
