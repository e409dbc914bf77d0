"""`nbduplex train`: the command line of the training recipe (`train.py`).

nbduplex train --out runs/m1 --steps 2000 --scenarios 600
python -m nbduplex.model.train_cli --help
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nbduplex.model.config import ModelConfig
from nbduplex.model.data import DataConfig
from nbduplex.model.train import TrainConfig, calibrate_checkpoint, train


def _kind_weights(spec: str) -> dict[str, float]:
    """'cuespeak=3,timespeak=2' -> {"cuespeak": 3.0, "timespeak": 2.0}."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected kind=weight, got {part!r}") from None
        if not sep:
            raise argparse.ArgumentTypeError(f"expected kind=weight, got {part!r}")
    return out


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Arguments of `nbduplex train` (added to `parser` when given)."""
    p = parser or argparse.ArgumentParser(
        prog="nbduplex train", description="Train the interaction model."
    )
    d = TrainConfig()
    p.add_argument("--out", default=d.out_dir, help="run directory (resumes if it has last.pt)")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--warmup", type=int, default=d.warmup, help="linear warm-up steps")
    p.add_argument("--init", default=None, help="start from these weights (fresh runs only)")
    p.add_argument("--oversample", type=float, default=d.oversample)
    p.add_argument("--interject-weight", type=float, default=d.interject_weight)
    p.add_argument(
        "--pause-weight",
        type=float,
        default=d.pause_weight,
        help="factor on the action loss of 'listen' inside mid-turn pauses",
    )
    p.add_argument("--reply-weight", type=float, default=d.reply_weight, help="word-head loss")
    p.add_argument("--byte-weight", type=float, default=d.byte_weight, help="byte-decoder loss")
    p.add_argument(
        "--decoder-only",
        action="store_true",
        help="train only the byte decoder on the frozen model given by --init",
    )
    p.add_argument("--scenarios", type=int, default=d.data.n_scenarios, help="training examples")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=d.threads, help="CPU threads (0: default)")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this wall time")
    p.add_argument("--cache-dir", default=None, help="where generated examples are cached")
    p.add_argument(
        "--kind-weights",
        type=_kind_weights,
        default=None,
        help="draw weights of single scenario kinds, e.g. cuespeak=3,timespeak=2 (others 1)",
    )
    p.add_argument("--workers", type=int, default=1, help="processes generating scenarios")
    p.add_argument(
        "--bc-recovery",
        type=float,
        default=DataConfig.bc_recovery,
        help="share of turn-end answers taught after a forced back-channel (label shaping)",
    )
    p.add_argument(
        "--narrowband",
        type=float,
        default=DataConfig.narrowband,
        help="share of scenarios with the speech low-passed at 3-4 kHz (channel augmentation)",
    )
    p.add_argument(
        "--pico-share",
        type=float,
        default=DataConfig.pico_share,
        help="share of scenarios spoken by Pico instead of espeak (a second synthesiser)",
    )
    p.add_argument(
        "--replay-scenarios",
        type=int,
        default=DataConfig.replay_scenarios,
        help="also train on this many scenarios of an earlier stage's recipe (espeak only), "
        "so a fine-tune keeps that stage's balance",
    )
    p.add_argument(
        "--replay-seed",
        type=int,
        default=DataConfig.replay_seed,
        help="the earlier stage's data seed (5: the shipped stage 5)",
    )
    p.add_argument("--d-model", type=int, default=d.model.d_model)
    p.add_argument("--layers", type=int, default=d.model.n_layers)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="after training, tune the decision scales on training voices (unseen seeds)",
    )
    p.add_argument(
        "--reader",
        action="store_true",
        help="then train the spoken-instruction reader into the checkpoint (train-reader; "
        "then fine-tuned twice with more Pico speech where py-nanotts runs)",
    )
    p.add_argument(
        "--turn-end",
        action="store_true",
        help="then train the turn-end detector into the checkpoint (train-turn-end)",
    )
    p.add_argument(
        "--cue",
        action="store_true",
        help="then train the cue spotter into the checkpoint (train-cue)",
    )
    p.add_argument(
        "--listener-scenarios",
        type=int,
        default=None,
        help="scenarios for each of --reader, --turn-end, --cue (default: each one's own)",
    )
    p.add_argument(
        "--listener-epochs",
        type=int,
        default=None,
        help="epochs of each listener stage (default: each one's own)",
    )
    p.add_argument(
        "--listener-eval-scenarios",
        type=int,
        default=None,
        help="scenarios per set in each listener's evaluation table (0: none)",
    )
    p.add_argument(
        "--calibrate-per-kind",
        type=int,
        default=2,
        help="calibration scenarios per kind and grid point",
    )
    return p


def train_main(args: argparse.Namespace | list[str] | None = None) -> Path:
    """Entry point of `nbduplex train`: parse (or take parsed) arguments and train."""
    if not isinstance(args, argparse.Namespace):
        args = build_parser().parse_args(args)
    cfg = TrainConfig(
        out_dir=args.out,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup=args.warmup,
        init_from=args.init,
        oversample=args.oversample,
        interject_weight=args.interject_weight,
        pause_weight=getattr(args, "pause_weight", TrainConfig.pause_weight),
        reply_weight=getattr(args, "reply_weight", TrainConfig.reply_weight),
        byte_weight=getattr(args, "byte_weight", TrainConfig.byte_weight),
        decoder_only=getattr(args, "decoder_only", False),
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        max_minutes=args.max_minutes,
        progress=not args.no_progress,
        data=DataConfig(
            n_scenarios=args.scenarios,
            cache_dir=args.cache_dir,
            seed=args.seed,
            kind_weights=getattr(args, "kind_weights", None),
            workers=getattr(args, "workers", 1),
            bc_recovery=getattr(args, "bc_recovery", DataConfig.bc_recovery),
            narrowband=getattr(args, "narrowband", DataConfig.narrowband),
            pico_share=getattr(args, "pico_share", DataConfig.pico_share),
            replay_scenarios=getattr(args, "replay_scenarios", DataConfig.replay_scenarios),
            replay_seed=getattr(args, "replay_seed", DataConfig.replay_seed),
        ),
        model=ModelConfig(d_model=args.d_model, n_layers=args.layers),
    )
    path = train(cfg)
    # before calibration: the policy runs with its reader, turn-end detector and cue spotter
    flags = ["--workers", str(max(1, cfg.data.workers))]
    flags += [] if cfg.progress else ["--no-progress"]
    sizes = []  # after the stage flags: a quick run shrinks every stage, the fine-tune too
    for name, flag in (("listener_scenarios", "--scenarios"), ("listener_epochs", "--epochs"),
                       ("listener_eval_scenarios", "--eval-scenarios")):  # fmt: skip
        if getattr(args, name, None) is not None:
            sizes += [flag, str(getattr(args, name))]
    if getattr(args, "reader", False):
        from nbduplex.model.reader.train_cli import PICO_FINE_TUNES, train_reader_main
        from nbduplex.tts import available

        train_reader_main(flags + sizes, checkpoint=path)
        if available("pico"):  # the shipped reader's later stages
            for stage in PICO_FINE_TUNES:
                train_reader_main(flags + stage + sizes, checkpoint=path)
    if getattr(args, "turn_end", False):
        from nbduplex.model.turn_end.train_cli import train_turn_end_main

        train_turn_end_main(flags + sizes, checkpoint=path)
    if getattr(args, "cue", False):
        from nbduplex.model.cue.train_cli import train_cue_main

        train_cue_main(flags + sizes, checkpoint=path)
    if getattr(args, "calibrate", False):
        per_kind = getattr(args, "calibrate_per_kind", 2)
        workers = max(1, cfg.data.workers)
        calibrate_checkpoint(path, progress=cfg.progress, workers=workers, n_per_kind=per_kind)
    print(f"saved {path}")
    return path


if __name__ == "__main__":
    train_main()
