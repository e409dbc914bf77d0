"""Training and scoring the turn-end detector (`nbduplex train-turn-end`).

Data: `TurnEndTrainConfig.scenarios` scenarios of the conversational kinds (data.KINDS, in turn)
in the training voices, a share through a narrowband channel, rendered in worker processes and
cached under ~/.cache/nbduplex/turn_end. Training: AdamW, one-cycle schedule, class-balanced
cross-entropy, the reader's time/mel warp and masks as augmentation.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nbduplex.model.reader.network import ReaderConfig, ReaderNet
from nbduplex.model.reader.train import (
    ReaderTrainConfig,
    augment_features,
    progress_bar,
    render_cached,
    training_step,
)
from nbduplex.model.turn_end.data import KINDS, OUTPUTS, Window, windows

DATA_VERSION = 1


def detector_config() -> ReaderConfig:
    """The detector's network sizes (a smaller reader network: it runs inside a micro-turn)."""
    return ReaderConfig(channels=96, hidden=64, layers=1, dropout=0.1)


@dataclass
class TurnEndTrainConfig(ReaderTrainConfig):
    """How the turn-end detector is trained (the reader's fields, other defaults)."""

    scenarios: int = 2100
    epochs: int = 6
    batch_size: int = 64
    threads: int = 2  # torch intra-op threads while training


def _scenario_windows(job: tuple) -> list[Window]:
    from nbduplex.model.data import narrowband_cutoff
    from nbduplex.scenarios import generate_scenario

    seed, synth, voices, share = job
    torch.set_num_threads(1)
    kind = KINDS[seed % len(KINDS)]
    sc = generate_scenario(kind, seed, synth=synth, voices=voices, frames_per_turn=0,
                           bandwidth_hz=narrowband_cutoff(seed, share))  # fmt: skip
    return windows(sc, np.random.default_rng([seed, 7]))


def cache_dir() -> Path:
    """Where rendered turn-end datasets are kept."""
    return Path.home() / ".cache" / "nbduplex" / "turn_end"


def build_windows(
    seeds: range | list[int],
    synth: str = "espeak",
    voices: str | None = "train",
    narrowband: float = 0.0,
    workers: int = 2,
    cache: bool = True,
    progress: bool = False,
) -> list[Window]:
    """Labelled windows from the scenarios with these seeds (kind = KINDS[seed % 7])."""
    seeds = list(seeds)
    name = f"v{DATA_VERSION}-{synth}-{voices}-{seeds[0]}-{len(seeds)}-nb{narrowband}.pkl"
    jobs = [(s, synth, voices, narrowband) for s in seeds]
    path = cache_dir() / name if cache else None
    return render_cached(path, _scenario_windows, jobs, workers, progress)


def collate(batch: list[Window], augment: np.random.Generator | None = None):
    """(features (B, T, M) float32, lengths (B,), targets (B,))."""
    feats = [torch.from_numpy(w.features.astype(np.float32)) for w in batch]
    if augment is not None:
        feats = [augment_features(f, augment) for f in feats]
    lengths = torch.tensor([f.shape[0] for f in feats])
    x = torch.zeros(len(batch), int(lengths.max()), feats[0].shape[1])
    for i, f in enumerate(feats):
        x[i, : f.shape[0]] = f
    return x, lengths, torch.tensor([w.end for w in batch])


def train_turn_end(
    cfg: TurnEndTrainConfig, data: list[Window] | None = None, progress: bool = True
) -> tuple[ReaderNet, dict]:
    """Train a detector; returns (network in eval mode, meta: data, steps, wall time, loss)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    if data is None:
        first = 2_000_000 + cfg.seed * 1_000_000
        data = build_windows(range(first, first + cfg.scenarios), narrowband=cfg.narrowband,
                             workers=cfg.workers, progress=progress)  # fmt: skip
    t_data = time.time() - t0
    n_end = sum(w.end for w in data)
    weight = torch.tensor([len(data) / max(1, len(data) - n_end), len(data) / max(1, n_end)]) / 2
    net = ReaderNet(detector_config(), OUTPUTS)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    per_epoch = math.ceil(len(data) / cfg.batch_size)
    steps = cfg.epochs * per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=steps, pct_start=0.1)
    net.train()
    bar = progress_bar(range(steps), steps, progress, "train")
    last, order = float("nan"), np.zeros(0, int)
    for step in bar:
        if step % per_epoch == 0:
            order = rng.permutation(len(data))
        idx = order[(step % per_epoch) * cfg.batch_size :][: cfg.batch_size]
        x, lengths, y = collate([data[i] for i in idx], rng)
        loss = nn.functional.cross_entropy(net(x, lengths)["end"], y, weight=weight)
        last = training_step(net, opt, sched, loss, last, bar if progress else None)
    meta = {
        "train": cfg.to_dict(),
        "windows": len(data),
        "turn_ends": n_end,
        "steps": steps,
        "data_s": round(t_data, 1),
        "wall_s": round(time.time() - t0, 1),
        "final_loss": round(last, 4),
        "voices": "espeak training voices",
    }
    return net.eval(), meta


@torch.inference_mode()
def end_probabilities(net: ReaderNet, data: list[Window], batch_size: int = 256) -> np.ndarray:
    """p(turn ended) for each window."""
    out = []
    for i in range(0, len(data), batch_size):
        x, lengths, _ = collate(data[i : i + batch_size])
        out.append(net(x, lengths)["end"].float().softmax(-1)[:, 1].numpy())
    return np.concatenate(out) if out else np.zeros(0)


def score(net: ReaderNet, data: list[Window], threshold: float = 0.5) -> dict[str, float]:
    """Recall of turn ends and of holds at `threshold`, and the ROC AUC."""
    p = end_probabilities(net, data)
    y = np.array([w.end for w in data])
    pos, neg = p[y == 1], p[y == 0]
    auc = float((pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean())
    return {
        "windows": float(len(y)),
        "end_recall": float((pos >= threshold).mean()) if pos.size else math.nan,
        "hold_recall": float((neg < threshold).mean()) if neg.size else math.nan,
        "auc": auc if pos.size and neg.size else math.nan,
    }
