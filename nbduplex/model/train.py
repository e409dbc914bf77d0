"""Training recipe for the interaction model (`train(TrainConfig(...))`; the CLI is `train_cli.py`).

Multitask from the scenario generator (every kind, plus mixtures), train voices only: AdamW,
linear warm-up then cosine decay, gradient clipping, class-balanced cross-entropy on the action
head (weights ~ frequency ** -0.5) plus cross-entropy on the word head where a speech action
is due; "listen" targets inside mid-turn pauses (the hard negatives of turn-taking) weigh
`pause_weight` times as much. Scenarios with instructed, cue, counting or visual events (rare,
and the hardest) are sampled `1 + oversample` times as often, and the interject class weight is
multiplied by `interject_weight`. CPU or CUDA (bf16 autocast on CUDA). Checkpoints every
`save_every` steps hold model, optimizer, scheduler, step and RNG states: run the same command
again to resume.
`--init` starts a fresh run from existing weights (fine-tuning; new optimizer and schedule).

    nbduplex train --out runs/m1 --steps 2000 --scenarios 600
    nbduplex train --out runs/m2 --init nbduplex/model/checkpoints/default.pt  # fine-tune
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nbduplex.model.byte_decoder import SPEECH_ACTIONS
from nbduplex.model.checkpoint import save_checkpoint
from nbduplex.model.config import ModelConfig
from nbduplex.model.data import DataConfig, build_dataset, collate
from nbduplex.model.examples import IGNORE
from nbduplex.model.model import InteractionModel


@dataclass
class TrainConfig:
    """Everything a training run depends on (stored in its checkpoints)."""

    out_dir: str = "runs/model"  # checkpoints: last.pt (resumable), model.pt (weights only)
    steps: int = 2000  # optimizer steps
    batch_size: int = 6  # sessions per step
    seq_turns: int = 96  # micro-turns per training crop (= model.ctx_turns is typical)
    lr: float = 1e-3  # peak learning rate
    min_lr: float = 5e-5  # learning rate at the end of the cosine
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 0.05  # AdamW, on matrices only
    grad_clip: float = 1.0  # max global gradient norm
    reply_weight: float = 0.5  # weight of the word-head loss
    byte_weight: float = 0.5  # weight of the byte-decoder loss
    decoder_only: bool = False  # train only the byte decoder, on the frozen rest (needs init_from)
    interject_weight: float = 2.0  # extra factor on the interject class weight
    pause_weight: float = 1.0  # extra factor on the action loss of "listen" in mid-turn pauses
    oversample: float = 1.0  # examples with interject targets are drawn (1 + this) x as often
    init_from: str | None = None  # weights to start from (a fresh run only; not a resume)
    time_offset_s: float = 300.0  # random stream-time offsets up to this (long-session robustness)
    seed: int = 0  # python, numpy and torch seeds
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch CPU threads (0 = leave torch's default)
    save_every: int = 200  # steps between resumable checkpoints
    max_minutes: float = 0.0  # stop (and save) after this wall time; 0 = no limit
    progress: bool = True  # tqdm bars
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)


def _lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    p = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * p))


def class_weights(examples: list[dict], n_classes: int) -> torch.Tensor:
    """Action-loss weights ~ count ** -0.5, normalised to a frequency-weighted mean of 1."""
    acts = np.concatenate([e["action"] for e in examples])
    counts = np.bincount(acts[acts >= 0], minlength=n_classes)
    counts = np.maximum(counts, 1).astype(np.float64)
    w = counts**-0.5
    w /= (w * counts).sum() / counts.sum()
    return torch.tensor(w, dtype=torch.float32)


def _rng_state(np_rng: np.random.Generator) -> dict:
    st = {"python": random.getstate(), "numpy": np_rng.bit_generator.state}
    st["torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def _set_rng_state(st: dict, np_rng: np.random.Generator) -> None:
    random.setstate(st["python"])
    np_rng.bit_generator.state = st["numpy"]
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(st["cuda"])


def losses(model: InteractionModel, batch, weights: torch.Tensor, cfg: TrainConfig):
    """(total, action loss, word-head loss, byte-decoder loss) of one batch."""
    x, act, rep, pause = batch
    if cfg.decoder_only:
        with torch.no_grad():
            out = model(x)
    else:
        out = model(x)
    zero = torch.zeros((), device=out.hidden.device)
    la = lr = zero
    if not cfg.decoder_only:
        la = action_loss(out.action_logits, act, weights, pause, cfg.pause_weight)
        if (rep != IGNORE).any():
            lr = F.cross_entropy(
                out.reply_logits.flatten(0, 1).float(), rep.flatten(), ignore_index=IGNORE
            )
    lb = byte_loss(model, out.hidden, act, rep) if cfg.byte_weight or cfg.decoder_only else zero
    if cfg.decoder_only:
        return lb, la, lr, lb
    return la + cfg.reply_weight * lr + cfg.byte_weight * lb, la, lr, lb


def action_loss(
    logits: torch.Tensor,
    act: torch.Tensor,
    weights: torch.Tensor,
    pause: torch.Tensor,
    pause_weight: float = 1.0,
) -> torch.Tensor:
    """Class-weighted cross-entropy over the taught micro-turns, with the micro-turns in `pause`
    weighing `pause_weight` times as much (a weighted mean: 1.0 is plain weighted CE)."""
    keep = act != IGNORE
    if not bool(keep.any()):
        return logits.sum() * 0.0
    tgt = act[keep]
    per = F.cross_entropy(logits[keep].float(), tgt, reduction="none")
    w = weights[tgt] * torch.where(pause[keep], pause_weight, 1.0)
    return (per * w).sum() / w.sum()


def byte_loss(
    model: InteractionModel, hidden: torch.Tensor, act: torch.Tensor, rep: torch.Tensor
) -> torch.Tensor:
    """Byte-decoder loss on the micro-turns whose target is a speech action with words."""
    names = model.config.actions
    ids = torch.full((len(names),), -1, dtype=torch.long, device=act.device)
    for i, a in enumerate(SPEECH_ACTIONS):
        if a in names:
            ids[names.index(a)] = i
    speech = ids[act.clamp(min=0)]
    mask = (act >= 0) & (speech >= 0) & (rep > 0)
    if not bool(mask.any()):
        return torch.zeros((), device=hidden.device)
    texts = [model.config.replies[int(r)] for r in rep[mask].tolist()]
    return model.byte_decoder.loss(hidden[mask], speech[mask], texts)


def train(config: TrainConfig) -> Path:
    """Train (resuming from `out_dir/last.pt` when present); returns the weights-only checkpoint."""
    from tqdm.auto import tqdm

    cfg = config
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    dev = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    np_rng = np.random.default_rng(cfg.seed)
    out = Path(cfg.out_dir)
    if cfg.decoder_only and not cfg.init_from and not (out / "last.pt").is_file():
        raise ValueError("decoder_only trains the byte decoder of a trained model: give init_from")
    out.mkdir(parents=True, exist_ok=True)

    examples = build_dataset(cfg.data, cfg.model, progress=cfg.progress)
    weights = class_weights(examples, len(cfg.model.actions))
    if "interject" in cfg.model.actions:
        weights[cfg.model.actions.index("interject")] *= cfg.interject_weight
    weights = weights.to(dev)
    inter = cfg.model.actions.index("interject") if "interject" in cfg.model.actions else -1
    draw = np.array([1.0 + cfg.oversample * bool((e["action"] == inter).any()) for e in examples])
    draw /= draw.sum()
    model = InteractionModel(cfg.model).to(dev)
    if cfg.decoder_only:
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith("byte_decoder."))
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )
    init_ck = None
    if cfg.init_from:
        from nbduplex.model.checkpoint import read_checkpoint

        init_ck = read_checkpoint(cfg.init_from)
    init_meta = init_ck.get("meta", {}) if init_ck is not None else {}
    step, wall = 0, 0.0
    last = out / "last.pt"
    if last.is_file():
        ck = torch.load(last, map_location=dev, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, wall = int(ck["step"]), float(ck.get("meta", {}).get("wall_s", 0.0))
        _set_rng_state(ck["rng"], np_rng)
    elif init_ck is not None:
        weights_in = init_ck["model"]
        missing, unexpected = model.load_state_dict(weights_in, strict=False)
        if unexpected or any(not k.startswith("byte_decoder.") for k in missing):
            model.load_state_dict(weights_in)  # raises with the full list

    # the decision path is frozen when only the decoder trains: its calibration still holds
    kept = {k: init_meta[k] for k in ("action_scales", "calibration") if k in init_meta}
    kept = kept if cfg.decoder_only else {}
    if init_ck is not None:  # the lineage: what the starting weights were trained on
        lineage = {
            k: init_meta[k] for k in ("steps", "wall_s", "examples", "init") if k in init_meta
        }
        kept["init"] = {"path": str(cfg.init_from), **lineage}

    def meta() -> dict:
        return {
            "steps": step,
            "wall_s": wall,
            "device": str(dev),
            "threads": torch.get_num_threads(),
            "params": sum(p.numel() for p in model.parameters()),
            "examples": len(examples),
            "micro_turns": int(sum(len(e["action"]) for e in examples)),
            "train_config": json.loads(json.dumps(asdict(cfg), default=str)),
            "class_weights": weights.tolist(),
            "byte_decoder": bool(cfg.decoder_only or cfg.byte_weight > 0),
        } | kept

    def save() -> None:
        save_checkpoint(
            last, model, optimizer=opt.state_dict(), step=step, rng=_rng_state(np_rng), meta=meta()
        )

    amp = torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else None
    bar = tqdm(total=cfg.steps, initial=step, desc="train", disable=not cfg.progress)
    t_start = time.perf_counter() - wall
    model.train()
    while step < cfg.steps:
        if cfg.max_minutes and wall > cfg.max_minutes * 60:
            break
        for g in opt.param_groups:
            g["lr"] = _lr_at(step, cfg)
        idx = np_rng.choice(len(examples), cfg.batch_size, p=draw)
        batch = collate(
            [examples[i] for i in idx], cfg.model, cfg.seq_turns, np_rng, cfg.time_offset_s
        )
        batch = type(batch)(*(b.to(dev) for b in batch))
        if amp is not None:
            with amp:
                loss, la, lr_, lb = losses(model, batch, weights, cfg)
        else:
            loss, la, lr_, lb = losses(model, batch, weights, cfg)
        opt.zero_grad(set_to_none=True)
        if loss.requires_grad:  # decoder only: a batch without words has nothing to learn
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
        step += 1
        wall = time.perf_counter() - t_start
        bar.update(1)
        bar.set_postfix(
            loss=f"{loss.item():.3f}", act=f"{la.item():.3f}", word=f"{lr_.item():.3f}",
            bytes=f"{lb.item():.3f}",
        )  # fmt: skip
        if step % cfg.save_every == 0:
            save()
    bar.close()
    save()
    final = out / "model.pt"
    save_checkpoint(final, model.eval(), meta=meta())
    return final


def calibrate_checkpoint(path: str | Path, **options) -> dict[str, float]:
    """Run `nbduplex.model.calibrate.calibrate` on a checkpoint and store the scales in its meta."""
    from nbduplex.model.calibrate import calibrate
    from nbduplex.model.checkpoint import load_model, read_checkpoint

    model = load_model(path, device="cpu")
    scales, trials = calibrate(path if options.get("workers", 1) > 1 else model, **options)
    meta = dict(model.meta, action_scales=scales, calibration=trials)
    ckpt = read_checkpoint(path)  # the instruction reader and turn-end detector stay in the file
    extra = {k: ckpt[k] for k in ("reader", "turn_end", "cue") if ckpt.get(k)}
    save_checkpoint(path, model, meta=meta, **extra)
    return scales
