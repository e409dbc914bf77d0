"""Small audio classifiers over the last seconds of user audio, shared by the turn-end detector
(model/turn_end/) and the cue spotter (model/cue/): labelled windows, batching, training,
class probabilities, the run-time ring buffer and the checkpoint entry.

Both use the reader's network (`reader.network.ReaderNet`, log-mel -> conv -> BiGRU) with one
output head `output` of `n_classes` classes, fed per-window normalised log-mel.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from nbduplex.features.dmel import DEFAULT_CONFIG, dmel_log_mel_continued, dmel_log_mel_numpy
from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S
from nbduplex.model.reader.network import ReaderConfig, ReaderNet, log_mel, normalise_log_mel
from nbduplex.model.reader.store import reader_entry
from nbduplex.model.reader.train import (
    ReaderTrainConfig,
    augment_features,
    augmentation,
    one_cycle,
    progress_bar,
    render_cached,
    synth_seeds,
    training_step,
    voices_note,
)


def small_config() -> ReaderConfig:
    """The classifiers' network sizes: a smaller reader network (0.15 M parameters, a few ms per
    call), since it runs inside a micro-turn."""
    return ReaderConfig(channels=96, hidden=64, layers=1, dropout=0.1)


DMEL_HOP, DMEL_HISTORY = DEFAULT_CONFIG.hop, DEFAULT_CONFIG.history


@dataclass
class WindowTrainConfig(ReaderTrainConfig):
    """How a window classifier is trained (the reader's fields, other defaults)."""

    batch_size: int = 64
    threads: int = 2  # torch intra-op threads while training
    warp_spread: float = 0.15
    mel_blur: float = 0.0


@dataclass
class Window:
    """One labelled window of user audio."""

    features: np.ndarray  # (frames, 80) float16 log-mel
    y: int  # class index
    t: float  # s, end of the window in its scenario


def window_audio(audio: np.ndarray, stop: int, samples: int) -> np.ndarray:
    """The `samples` of int16 `audio` before sample `stop` (zeros before the start)."""
    seg = audio[max(0, stop - samples) : stop]
    if seg.size < samples:
        seg = np.concatenate([np.zeros(samples - seg.size, np.int16), seg])
    return seg


def cut_windows(
    audio: np.ndarray, samples: int, pick: Callable[[float], int | None]
) -> list[Window]:
    """A window of the `samples` before every micro-turn end t of int16 `audio` for which
    `pick(t)` gives a class (None: not used), in time order."""
    audio = np.asarray(audio, np.int16)
    out = []
    for k in range(audio.size // CHUNK_SAMPLES):
        t = (k + 1) * MICROTURN_S
        y = pick(t)
        if y is not None:
            features = log_mel(window_audio(audio, (k + 1) * CHUNK_SAMPLES, samples))
            out.append(Window(features, y, t))
    return out


def scenario_windows(job: tuple) -> list[Window]:
    """Render one scenario and cut its labelled windows; job = (seed, kind, synth, voices,
    narrowband share, windows function (scenario, rng) -> windows, rng salt)."""
    from nbduplex.model.data import narrowband_cutoff
    from nbduplex.scenarios import generate_scenario

    seed, kind, synth, voices, share, cut, salt = job
    torch.set_num_threads(1)
    sc = generate_scenario(kind, seed, synth=synth, voices=voices, frames_per_turn=0,
                           bandwidth_hz=narrowband_cutoff(seed, share))  # fmt: skip
    return cut(sc, np.random.default_rng([seed, salt]))


@dataclass
class WindowSource:
    """How a classifier's windows are made: `cut(scenario, rng)` on the scenario kind
    `kind_of(seed)`, with an rng seeded by (seed, `salt`); `version` names the data format;
    rendered datasets are kept under ~/.cache/nbduplex/`name`; training seed s uses the
    scenarios `first_seed` + s * 1e6 + i."""

    name: str
    cut: Callable
    kind_of: Callable[[int], str]
    salt: int
    version: int
    first_seed: int

    def cache_dir(self) -> Path:
        """Where rendered datasets are kept."""
        return Path.home() / ".cache" / "nbduplex" / self.name

    def build(
        self,
        seeds: range | list[int],
        synth: str = "espeak",
        voices: str | None = "train",
        narrowband: float = 0.0,
        workers: int = 2,
        cache: bool = True,
        progress: bool = False,
    ) -> list[Window]:
        """Labelled windows from the scenarios with these seeds, rendered in `workers`
        processes (cached as a pickle unless `cache` is off)."""
        seeds = list(seeds)
        name = f"v{self.version}-{synth}-{voices}-{seeds[0]}-{len(seeds)}-nb{narrowband}.pkl"
        jobs = [(s, self.kind_of(s), synth, voices, narrowband, self.cut, self.salt)
                for s in seeds]  # fmt: skip
        path = self.cache_dir() / name if cache else None
        return render_cached(path, scenario_windows, jobs, workers, progress)

    def train(
        self, cfg: WindowTrainConfig, output: str, n_classes: int,
        data: list[Window] | None = None, progress: bool = True, init: ReaderNet | None = None,
    ) -> tuple[ReaderNet, dict]:  # fmt: skip
        """Render `cfg.scenarios` training scenarios (unless `data` is given) and train a
        `small_config()` network (or `init`, to fine-tune) on them (train_window_classifier)."""
        t0 = time.time()
        if data is None:
            first, data = self.first_seed + cfg.seed * 1_000_000, []
            for synth, seeds in synth_seeds(first, cfg.scenarios, cfg.pico_share):
                data += self.build(seeds, synth, narrowband=cfg.narrowband, workers=cfg.workers,
                                   progress=progress)  # fmt: skip
        t_data = time.time() - t0
        net, meta = train_window_classifier(data, small_config(), output, n_classes, cfg,
                                            progress, init)  # fmt: skip
        meta.update(data_s=round(t_data, 1), wall_s=round(time.time() - t0, 1))
        return net, meta


def collate(
    batch: list[Window],
    augment: np.random.Generator | None = None,
    cfg: WindowTrainConfig | None = None,
):
    """(features (B, T, M) float32, lengths (B,), targets (B,)); augmented with the rng
    `augment` as `cfg` says (reader defaults without one)."""
    feats = [torch.from_numpy(w.features.astype(np.float32)) for w in batch]
    if augment is not None:
        feats = [augment_features(f, augment, **augmentation(cfg)) for f in feats]
    lengths = torch.tensor([f.shape[0] for f in feats])
    x = torch.zeros(len(batch), int(lengths.max()), feats[0].shape[1])
    for i, f in enumerate(feats):
        x[i, : f.shape[0]] = f
    return x, lengths, torch.tensor([w.y for w in batch])


def train_window_classifier(
    data: list[Window],
    net_config: ReaderConfig,
    output: str,
    n_classes: int,
    cfg: WindowTrainConfig,
    progress: bool = True,
    init: ReaderNet | None = None,
) -> tuple[ReaderNet, dict]:
    """Train a `ReaderNet` with one head on `data` (a new one, or `init` to fine-tune): AdamW,
    one-cycle schedule, class-balanced cross-entropy, the reader's time/mel warp and masks as
    augmentation. Returns the network in eval mode and meta (windows per class, steps, wall
    time, final loss)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.time()
    counts = np.bincount([w.y for w in data], minlength=n_classes)
    weight = torch.tensor(len(data) / np.maximum(counts, 1) / n_classes, dtype=torch.float32)
    net = init if init is not None else ReaderNet(net_config, {output: n_classes})
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    per_epoch = math.ceil(len(data) / cfg.batch_size)
    steps = cfg.epochs * per_epoch
    sched = one_cycle(opt, cfg.lr, steps)
    net.train()
    bar = progress_bar(range(steps), steps, progress, "train")
    last, order = float("nan"), np.zeros(0, int)
    for step in bar:
        if step % per_epoch == 0:
            order = rng.permutation(len(data))
        idx = order[(step % per_epoch) * cfg.batch_size :][: cfg.batch_size]
        x, lengths, y = collate([data[i] for i in idx], rng, cfg)
        loss = nn.functional.cross_entropy(net(x, lengths)[output], y, weight=weight)
        last = training_step(net, opt, sched, loss, last, bar if progress else None)
    meta = {
        "train": cfg.to_dict(),
        "windows": len(data),
        "per_class": counts.tolist(),
        "steps": steps,
        "train_s": round(time.time() - t0, 1),
        "final_loss": round(last, 4),
        "voices": voices_note(cfg.pico_share),
    }
    return net.eval(), meta


@torch.inference_mode()
def class_probabilities(
    net: ReaderNet, data: list[Window], output: str, batch_size: int = 256
) -> np.ndarray:
    """(windows, classes) softmax probabilities."""
    out = []
    for i in range(0, len(data), batch_size):
        x, lengths, _ = collate(data[i : i + batch_size])
        out.append(net(x, lengths)[output].float().softmax(-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0))


class WindowListener:
    """Keeps the last `samples` of user audio; `probabilities()` classifies it, at most once per
    pushed micro-turn (computed on demand: a few ms on one CPU thread).

    A read computes log-mel frames only for the audio pushed since the last read (kept in a
    frame ring) and recomputes the window's first frames, which see zeros before the window in
    `log_mel(window)`, so the features equal those of training exactly; a push only stores."""

    def __init__(self, net: ReaderNet, output: str, samples: int) -> None:
        self.net = net.eval()
        self.output = output
        self.samples = int(samples)
        self.reset()

    def reset(self) -> None:
        """A new session."""
        self._audio = np.zeros(self.samples, np.int16)
        self._frames = dmel_log_mel_numpy(self._audio)  # (samples // hop, 80), raw log-mel
        self._fresh = 0  # samples at the end of the window that have no frames yet
        self._p: np.ndarray | None = None

    def push(self, chunk: np.ndarray) -> None:
        """Feed one micro-turn of int16 user audio."""
        chunk = np.asarray(chunk, np.int16)[-self.samples :]
        self._audio = np.concatenate([self._audio[chunk.size :], chunk])
        self._fresh = min(self.samples, self._fresh + chunk.size)
        self._p = None

    def features(self) -> np.ndarray:
        """The window's (frames, 80) float16 features, equal to `log_mel(window)`."""
        n, fresh = self.samples // DMEL_HOP, self._fresh
        if fresh % DMEL_HOP or self.samples % DMEL_HOP or fresh == self.samples:
            self._frames = dmel_log_mel_numpy(self._audio)  # the whole window
        elif fresh:
            new = dmel_log_mel_continued(self._audio[:-fresh], self._audio[-fresh:])
            self._frames = np.concatenate([self._frames, new])[-n:]
        self._fresh = 0
        head = dmel_log_mel_numpy(self._audio[:DMEL_HISTORY])  # zeros before the window
        return normalise_log_mel(np.concatenate([head, self._frames[head.shape[0] :]]))

    @torch.inference_mode()
    def probabilities(self) -> np.ndarray:
        """Class probabilities for the audio pushed so far."""
        if self._p is None:
            x = torch.as_tensor(self.features().astype(np.float32))[None]
            logits = self.net(x, torch.tensor([x.shape[1]]))[self.output][0]
            self._p = logits.float().softmax(-1).numpy()
        return self._p


def save_entry(checkpoint: str | Path, key: str, net: ReaderNet, threshold: float,
               meta: dict) -> Path:  # fmt: skip
    """Put a classifier into an existing checkpoint under `key` (replacing any), atomically."""
    from nbduplex.model.checkpoint import read_checkpoint

    path = Path(checkpoint)
    ckpt = read_checkpoint(path)
    ckpt[key] = reader_entry(net, threshold, meta)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    return path


def load_entry(ckpt: dict, key: str, outputs: dict[str, int]) -> tuple[ReaderNet, float] | None:
    """(network in float32 eval mode, threshold) stored under `key`; None without one."""
    entry = ckpt.get(key)
    if not entry:
        return None
    net = ReaderNet(ReaderConfig(**entry["config"]), outputs)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v
                         for k, v in entry["model"].items()})  # fmt: skip
    return net.eval(), float(entry["threshold"])
