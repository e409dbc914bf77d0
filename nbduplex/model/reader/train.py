"""Training and scoring the instruction reader (`nbduplex train-reader`).

Data: `ReaderTrainConfig.scenarios` reader scenarios (data.py) in the training voices (espeak,
and a share `pico_share` spoken by Pico), cut by the run-time segmenter, rendered in worker
processes and cached under ~/.cache/nbduplex/reader.
Training: AdamW with a cosine schedule, batches of similar lengths, SpecAugment-style time and
frequency masks; the loss is the template's cross-entropy plus each used slot's.
"""

from __future__ import annotations

import math
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nbduplex.model.reader.data import IGNORE, Crop, crops, reader_scenario, targets
from nbduplex.model.reader.network import OUTPUTS, ReaderConfig, ReaderNet
from nbduplex.scenarios.builder import ScenarioConfig

DATA_VERSION = 1


@dataclass
class ReaderTrainConfig:
    """How the reader is trained."""

    scenarios: int = 6000
    seed: int = 0
    narrowband: float = 0.3  # share of scenarios through a 3-4 kHz channel
    epochs: int = 16
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.01
    workers: int = 2
    threads: int = 1  # torch intra-op threads while training
    warp_spread: float = 0.25  # augmentation: random time / mel-axis stretch, 1 +- this
    mel_blur: float = 2.0  # augmentation: random blur along the mel axis, sigma up to this (bins)
    pico_share: float = 0.0  # share of the training scenarios spoken by Pico instead of espeak
    fine_tune: bool = False  # start from the checkpoint's network instead of from scratch

    def to_dict(self) -> dict:
        """JSON-able dict."""
        return asdict(self)


def _cutoff(seed: int, share: float) -> float | None:
    from nbduplex.model.data import narrowband_cutoff

    return narrowband_cutoff(seed, share)


def _scenario_crops(job: tuple) -> list[Crop]:
    seed, synth, voices, share = job
    torch.set_num_threads(1)
    cfg = ScenarioConfig(synth=synth, voices=voices, frames_per_turn=0,
                         bandwidth_hz=_cutoff(seed, share))  # fmt: skip
    return crops(*reader_scenario(seed, cfg))


def cache_dir() -> Path:
    """Where rendered reader datasets are kept."""
    return Path.home() / ".cache" / "nbduplex" / "reader"


def build_crops(
    seeds: range | list[int],
    synth: str = "espeak",
    voices: str | list[str] = "train",
    narrowband: float = 0.0,
    workers: int = 2,
    cache: bool = True,
    progress: bool = False,
) -> list[Crop]:
    """Labelled candidate utterances from reader scenarios with these seeds."""
    seeds = list(seeds)
    name = f"v{DATA_VERSION}-{synth}-{voices}-{seeds[0]}-{len(seeds)}-nb{narrowband}.pkl"
    path = cache_dir() / name if cache and not isinstance(voices, list) else None
    jobs = [(s, synth, voices, narrowband) for s in seeds]
    return render_cached(path, _scenario_crops, jobs, workers, progress)


def synth_seeds(first: int, n: int, pico_share: float) -> list[tuple[str, range]]:
    """The training scenarios' (synthesiser, seeds): the last round(n * pico_share) of the seeds
    first..first + n are spoken by Pico, the others by espeak."""
    if not 0.0 <= pico_share <= 1.0:
        raise ValueError(f"pico_share must be in [0, 1], got {pico_share}")
    k = round(n * pico_share)
    sets = [("espeak", range(first, first + n - k)), ("pico", range(first + n - k, first + n))]
    return [(synth, seeds) for synth, seeds in sets if len(seeds)]


def voices_note(pico_share: float) -> str:
    """What the training voices were, for a checkpoint's meta."""
    note = "espeak training voices"
    return f"{note} + Pico ({pico_share:.0%} of the scenarios)" if pico_share else note


def render_cached(path: Path | None, fn, jobs: list, workers: int, progress: bool) -> list:
    """The concatenated lists `fn(job)` of all jobs, rendered in `workers` processes; loaded
    from the pickle at `path` when it exists, else saved there (None: no cache)."""
    if path is not None and path.is_file():
        with open(path, "rb") as f:
            return pickle.load(f)
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            it = ex.map(fn, jobs, chunksize=4)
            out = [x for xs in progress_bar(it, len(jobs), progress, "render") for x in xs]
    else:
        it = map(fn, jobs)
        out = [x for xs in progress_bar(it, len(jobs), progress, "render") for x in xs]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(out, f)
        tmp.replace(path)
    return out


def one_cycle(opt: torch.optim.Optimizer, lr: float, steps: int):
    """The listeners' learning-rate schedule: one cycle with a 10 % warm-up; a constant rate
    for a run too short for its phases (a quick smoke run); no steps at all is an error."""
    if steps < 1:
        raise ValueError("nothing to train on: no training examples (use more --scenarios)")
    if steps < 20:  # OneCycleLR divides by zero when its warm-up rounds to nothing
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)


def progress_bar(it, total: int, show: bool, desc: str):
    """`it` wrapped in a tqdm bar when `show`."""
    if not show:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, total=total, desc=desc)


def collate(
    batch: list[Crop],
    augment: np.random.Generator | None = None,
    cfg: ReaderTrainConfig | None = None,
):
    """(features (B, T, M) float32, lengths (B,), {output: (B,) targets}); augmented with the
    rng `augment` as `cfg` says (defaults without one)."""
    feats = [torch.from_numpy(c.features.astype(np.float32)) for c in batch]
    if augment is not None:
        feats = [augment_features(f, augment, **augmentation(cfg)) for f in feats]
    lengths = torch.tensor([f.shape[0] for f in feats])
    x = torch.zeros(len(batch), int(lengths.max()), batch[0].features.shape[1])
    for i, f in enumerate(feats):
        x[i, : f.shape[0]] = f
    ys = [targets(c.command) for c in batch]
    y = {k: torch.tensor([t[k] for t in ys]) for k in OUTPUTS}
    return x, lengths, y


def warp_mel(f: torch.Tensor, factor: float) -> torch.Tensor:
    """(T, M) features with the mel axis stretched by `factor` (linear interpolation;
    > 1 reads bin i from bin i * factor, as a shorter vocal tract would place it)."""
    if factor == 1.0:
        return f
    m = f.shape[1]
    src = (torch.arange(m, dtype=torch.float32) * float(factor)).clamp(0, m - 1)
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    w = src - lo
    return f[:, lo] * (1 - w) + f[:, hi] * w


def _warp(f: torch.Tensor, rng: np.random.Generator, spread: float = 0.15) -> torch.Tensor:
    """Stretch time (speaking rate) and the mel axis (vocal-tract length) by random factors
    in 1 +- `spread`: other voices and synthesisers differ from espeak mostly there."""
    t, m = f.shape
    rate, vtl = rng.uniform(1 - spread, 1 + spread, 2)
    size = (max(8, int(round(t * rate))), m)
    f = torch.nn.functional.interpolate(f[None, None], size=size, mode="bilinear",
                                        align_corners=True)[0, 0]  # fmt: skip
    return warp_mel(f, float(vtl))


def augmentation(cfg: ReaderTrainConfig | None) -> dict:
    """The `augment_features` options a training config asks for."""
    return {} if cfg is None else {"spread": cfg.warp_spread, "blur": cfg.mel_blur}


def augment_features(
    f: torch.Tensor, rng: np.random.Generator, spread: float = 0.15, blur: float = 0.0
) -> torch.Tensor:
    """Training augmentation of (T, M) features: random time/mel warp (1 +- `spread`), a random
    Gaussian blur along the mel axis (sigma up to `blur` bins: smears the pitch harmonics, which
    differ between synthesisers, and keeps the spectral envelope), then time/mel masks."""
    f = _warp(f, rng, spread)
    if blur > 0:
        f = blur_mel(f, float(rng.uniform(0.0, blur)))
    return _mask(f, rng)


def blur_mel(f: torch.Tensor, sigma: float) -> torch.Tensor:
    """(T, M) features smoothed along the mel axis by a Gaussian of `sigma` bins (rescaled to
    the spread they had, as the per-window normalisation would)."""
    if sigma < 0.3:
        return f
    r = int(np.ceil(3 * sigma))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / sigma) ** 2)
    k = (k / k.sum()).view(1, 1, -1)
    x = torch.nn.functional.pad(f[:, None], (r, r), mode="replicate")  # (T, 1, M + 2r)
    g = torch.nn.functional.conv1d(x, k)[:, 0]
    return g * (f.std() / (g.std() + 1e-6))


def _mask(f: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    f = f.clone()
    for _ in range(2):
        w = int(rng.integers(0, 11))
        m0 = int(rng.integers(0, f.shape[1] - w + 1))
        f[:, m0 : m0 + w] = 0.0
        w = int(rng.integers(0, min(9, f.shape[0] // 8 + 1)))
        t0 = int(rng.integers(0, f.shape[0] - w + 1))
        f[t0 : t0 + w] = 0.0
    return f


def loss_fn(out: dict[str, torch.Tensor], y: dict[str, torch.Tensor]) -> torch.Tensor:
    """Template CE + the CE of every slot the target template uses."""
    total = nn.functional.cross_entropy(out["template"], y["template"])
    for k in OUTPUTS:
        if k != "template" and (y[k] != IGNORE).any():
            total = total + nn.functional.cross_entropy(out[k], y[k], ignore_index=IGNORE)
    return total


def _batches(data: list[Crop], size: int, rng: np.random.Generator) -> list[list[Crop]]:
    order = np.argsort([c.features.shape[0] + rng.uniform(0, 40) for c in data])
    groups = [[data[i] for i in order[j : j + size]] for j in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def training_step(net: nn.Module, opt, sched, loss: torch.Tensor, smoothed: float, bar=None):
    """One optimiser step (gradients clipped at norm 1) and one scheduler step; returns the
    smoothed loss (shown on the progress `bar` when given)."""
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    sched.step()
    value = float(loss.detach())
    smoothed = 0.98 * smoothed + 0.02 * value if math.isfinite(smoothed) else value
    if bar is not None and hasattr(bar, "set_postfix"):
        bar.set_postfix(loss=f"{smoothed:.3f}")
    return smoothed


def train_reader(
    cfg: ReaderTrainConfig,
    data: list[Crop] | None = None,
    progress: bool = True,
    init: ReaderNet | None = None,
) -> tuple[ReaderNet, dict]:
    """Train a reader (from `init`, a reader to fine-tune, when given); returns (network in
    eval mode, meta: data, steps, wall time, loss)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    if data is None:
        data = []
        for synth, seeds in synth_seeds(cfg.seed * 1_000_000, cfg.scenarios, cfg.pico_share):
            data += build_crops(seeds, synth, narrowband=cfg.narrowband, workers=cfg.workers,
                                progress=progress)  # fmt: skip
    t_data = time.time() - t0
    net = init if init is not None else ReaderNet(ReaderConfig())
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(data) / cfg.batch_size)
    sched = one_cycle(opt, cfg.lr, steps)
    net.train()
    bar = progress_bar(range(steps), steps, progress, "train")
    it, last = iter(()), float("nan")
    for _ in bar:
        batch = next(it, None)
        if batch is None:
            it = iter(_batches(data, cfg.batch_size, rng))
            batch = next(it)
        x, lengths, y = collate(batch, rng, cfg)
        loss = loss_fn(net(x, lengths), y)
        last = training_step(net, opt, sched, loss, last, bar if progress else None)
    meta = {
        "train": cfg.to_dict(),
        "crops": len(data),
        "instructions": sum(c.command is not None for c in data),
        "steps": steps,
        "data_s": round(t_data, 1),
        "wall_s": round(time.time() - t0, 1),
        "final_loss": round(last, 4),
        "voices": voices_note(cfg.pico_share),
    }
    return net.eval(), meta


def score(net: ReaderNet, data: list[Crop], threshold: float = 0.5) -> dict[str, float]:
    """Exact-reading accuracy on instructions, and how often ordinary speech is read as one."""
    hit = miss = wrong = false = neg = 0
    for c in data:
        cmd, conf = net.read(c.features)
        if cmd is not None and conf < threshold:
            cmd = None
        if c.command is None:
            neg += 1
            false += cmd is not None
        elif cmd == c.command:
            hit += 1
        elif cmd is None:
            miss += 1
        else:
            wrong += 1
    pos = hit + miss + wrong
    return {
        "instructions": pos,
        "read_right": hit / max(pos, 1),
        "missed": miss / max(pos, 1),
        "read_wrong": wrong / max(pos, 1),
        "others": neg,
        "false_reads": false / max(neg, 1),
    }
