"""Training data for the interaction model, generated from nbduplex.scenarios (train voices).

Each scenario becomes one example (`examples.scenario_example`: inputs, targets and the label
shaping); `build_dataset` generates them (in parallel processes if asked) and caches each as an
.npz file under `DataConfig.cache_dir`, keyed by `DATA_VERSION` and the data settings;
`collate` crops and pads a batch.

Channel augmentation: `DataConfig.narrowband` of the scenarios (chosen by their seed) have the
speech low-passed at 3-4 kHz before room and noise (`ScenarioConfig.bandwidth_hz`), as an
8 kHz-sampled voice, a telephone or a Bluetooth headset delivers it.

Second synthesiser: `DataConfig.pico_share` of the scenarios (chosen by their seed) are spoken
by Pico (nbduplex.tts.pico) instead of espeak, so the model hears more than one kind of
synthetic speech; flite stays unseen.

Replay: `DataConfig.replay_scenarios` > 0 adds that many scenarios of an earlier stage's
recipe (seed `replay_seed`, espeak only, full band, the same kinds and labels), so that a
fine-tune on new data keeps seeing what the checkpoint was trained on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from nbduplex.microturn import MICROTURN_S
from nbduplex.model.config import ModelConfig
from nbduplex.model.examples import IGNORE, scenario_example
from nbduplex.model.inputs import TurnInputs

DATA_VERSION = 6  # bump when the example format, the labelling rule or the scenarios change
# (6: the simulated agent answers in the router's words, "210 / 5 = 42", not "42")


def default_cache_dir() -> Path:
    """$NBDUPLEX_CACHE/data, else ~/.cache/nbduplex/data."""
    root = os.environ.get("NBDUPLEX_CACHE") or Path.home() / ".cache" / "nbduplex"
    return Path(root) / "data"


@dataclass
class DataConfig:
    """Which scenarios make the training set."""

    n_scenarios: int = 600  # examples generated (and cached)
    mixture_share: float = 0.3  # share of multi-task mixtures; the rest are single kinds
    seed: int = 0  # scenario seeds derive from it
    synth: str = "espeak"  # training synthesiser
    voices: str = "train"  # voice pool (never "heldout")
    cache_dir: str | None = None  # None: default_cache_dir()
    kind_weights: dict[str, float] | None = None  # relative draw weight per single kind (default 1)
    bc_recovery: float = 0.2  # share of turn-end answers and of pauses after a back-channel
    narrowband: float = 0.0  # share of scenarios whose speech is low-passed at 3-4 kHz
    pico_share: float = 0.0  # share of scenarios spoken by Pico instead of `synth`
    workers: int = 1  # processes generating scenarios
    replay_scenarios: int = 0  # plus this many scenarios of an earlier stage's recipe ...
    replay_seed: int = 5  # ... drawn with this seed (5: the shipped transformer's stage 5)


def _spec(i: int, cfg: DataConfig) -> tuple[str, int]:
    from nbduplex.scenarios import SCENARIO_KINDS

    kinds = list(SCENARIO_KINDS)
    w = None
    if cfg.kind_weights:
        unknown = set(cfg.kind_weights) - set(kinds)
        if unknown:
            raise ValueError(f"unknown scenario kinds {sorted(unknown)}; known: {kinds}")
        w = np.array([max(0.0, float(cfg.kind_weights.get(k, 1.0))) for k in kinds])
        if w.sum() <= 0:
            raise ValueError("kind_weights must give at least one kind a positive weight")
    rng = np.random.default_rng([cfg.seed, i])
    seed = int(rng.integers(0, 2**31))
    if rng.random() < cfg.mixture_share:
        return "mixture", seed
    if w is None:
        return kinds[int(rng.integers(len(kinds)))], seed
    return kinds[int(rng.choice(len(kinds), p=w / w.sum()))], seed


def make_scenario(
    kind: str,
    seed: int,
    synth: str = "espeak",
    voices: str = "train",
    bandwidth_hz: float | None = None,
):
    """A scenario of `kind` ("mixture" chains several) with one frame per micro-turn."""
    from nbduplex.scenarios import generate_mixture, generate_scenario

    opts = {"synth": synth, "voices": voices, "bandwidth_hz": bandwidth_hz}
    if kind == "mixture":
        return generate_mixture(seed, **opts)
    return generate_scenario(kind, seed, **opts)


def narrowband_cutoff(seed: int, share: float) -> float | None:
    """The low-pass cutoff (3-4 kHz) of a training scenario, or None (full band), by its seed."""
    rng = np.random.default_rng([int(seed), 11])
    return float(rng.uniform(3000.0, 4000.0)) if rng.random() < share else None


def scenario_synth(seed: int, synth: str, pico_share: float) -> str:
    """The synthesiser of a training scenario: Pico for a share `pico_share`, by its seed."""
    rng = np.random.default_rng([int(seed), 17])
    return "pico" if rng.random() < pico_share else synth


def build_dataset(
    data: DataConfig, config: ModelConfig, progress: bool = True
) -> list[dict[str, np.ndarray]]:
    """Generate (or load from the cache) `data.n_scenarios` examples."""
    from tqdm.auto import tqdm

    if data.voices == "heldout":
        raise ValueError("training data must not use the held-out voices")
    if data.replay_scenarios:
        earlier = replace(data, n_scenarios=data.replay_scenarios, seed=data.replay_seed,
                          pico_share=0.0, narrowband=0.0, replay_scenarios=0)  # fmt: skip
        new = replace(data, replay_scenarios=0)
        return build_dataset(new, config, progress) + build_dataset(earlier, config, progress)
    root = Path(data.cache_dir) if data.cache_dir else default_cache_dir()
    key = (
        f"v{DATA_VERSION}-{data.synth}-{data.voices}-s{config.image_size}-b{config.max_text_bytes}"
    )
    key += f"-r{len(config.replies)}-bc{data.bc_recovery:g}"
    key += f"-nb{data.narrowband:g}" if data.narrowband else ""
    key += f"-pico{data.pico_share:g}" if data.pico_share else ""
    d = root / key
    d.mkdir(parents=True, exist_ok=True)
    jobs = []
    for i in range(data.n_scenarios):
        kind, seed = _spec(i, data)
        synth = scenario_synth(seed, data.synth, data.pico_share)
        jobs.append((d, kind, seed, synth, data.voices, config, data.bc_recovery, data.narrowband))
    bar = dict(total=len(jobs), desc="scenarios", disable=not progress)
    if data.workers <= 1:
        return [_cached_example(j) for j in tqdm(jobs, **bar)]
    from concurrent.futures import ProcessPoolExecutor

    one_thread = {"initializer": torch.set_num_threads, "initargs": (1,)}
    with ProcessPoolExecutor(data.workers, **one_thread) as pool:
        return list(tqdm(pool.map(_cached_example, jobs, chunksize=4), **bar))


def _cached_example(job: tuple) -> dict[str, np.ndarray]:
    """One example (cache dir, kind, seed, synth, voices, config, bc_recovery, narrowband share):
    from the cache, else made."""
    d, kind, seed, synth, voices, config, bc_recovery, narrowband = job
    f = d / f"{kind}-{seed}.npz"
    if f.is_file():
        try:
            with np.load(f) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError):
            f.unlink(missing_ok=True)  # a half-written file from an interrupted run
    sc = make_scenario(kind, seed, synth, voices, narrowband_cutoff(seed, narrowband))
    ex = scenario_example(sc, config, bc_recovery)
    tmp = f.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, **ex)
    tmp.replace(f)
    return ex


class Batch(NamedTuple):
    """A training batch (see `collate`)."""

    inputs: TurnInputs
    action: torch.Tensor  # (B, T) action ids, IGNORE where nothing is taught
    reply: torch.Tensor  # (B, T) word-head ids, IGNORE where no words are due
    pause: torch.Tensor  # (B, T) bool, "listen" inside a mid-turn pause (hard negatives)


def collate(
    examples: list[dict[str, np.ndarray]],
    config: ModelConfig,
    turns: int,
    rng: np.random.Generator,
    time_offset_s: float = 0.0,
) -> tuple[TurnInputs, torch.Tensor, torch.Tensor]:
    """A batch of random crops of `turns` micro-turns (padded; padding targets = IGNORE).

    Crops start at 0 half of the time (so instructions are in view), elsewhere at random. With
    `time_offset_s` > 0 stream times get a random offset in [0, time_offset_s) half of the time.
    Returns a `Batch`: inputs (B, T), action and reply targets (B, T), the pause mask (B, T).
    """
    b, s, nb = len(examples), config.image_size, config.max_text_bytes
    codes = torch.zeros(b, turns, 16, 80, dtype=torch.long)
    image = torch.zeros(b, turns, 3, s, s)
    has_image = torch.zeros(b, turns, dtype=torch.bool)
    text = torch.full((b, turns, nb), 256, dtype=torch.long)
    speaking = torch.zeros(b, turns)
    t = torch.zeros(b, turns)
    since = torch.full((b, turns), 60.0)
    act = torch.full((b, turns), IGNORE, dtype=torch.long)
    rep = torch.full((b, turns), IGNORE, dtype=torch.long)
    pause = torch.zeros(b, turns, dtype=torch.bool)
    for i, ex in enumerate(examples):
        n = len(ex["action"])
        start = 0 if n <= turns or rng.random() < 0.5 else int(rng.integers(0, n - turns + 1))
        sl = slice(start, min(n, start + turns))
        m = sl.stop - sl.start
        codes[i, :m] = torch.from_numpy(ex["codes"][sl].astype(np.int64))
        image[i, :m] = torch.from_numpy(ex["image"][sl]).float() / 255.0
        has_image[i, :m] = torch.from_numpy(ex["has_image"][sl])
        text[i, :m] = torch.from_numpy(ex["text"][sl].astype(np.int64))
        speaking[i, :m] = torch.from_numpy(ex["speaking"][sl])
        off = float(rng.uniform(0, time_offset_s)) if rng.random() < 0.5 else 0.0
        t[i] = (start + torch.arange(turns)) * MICROTURN_S + off
        since[i, :m] = torch.from_numpy(ex["since_text"][sl])
        a, r = ex["action"][sl].copy(), ex["reply"][sl].copy()
        if "anchor" in ex:  # targets whose instruction is before the crop cannot be learnt
            lost = (ex["anchor"][sl] >= 0) & (ex["anchor"][sl] < start)
            a[lost], r[lost] = IGNORE, IGNORE
        act[i, :m] = torch.from_numpy(a)
        rep[i, :m] = torch.from_numpy(r)
        if "pause" in ex:
            pause[i, :m] = torch.from_numpy(ex["pause"][sl])
    x = TurnInputs(codes, image, has_image, text, speaking, t, since)
    return Batch(x, act, rep, pause)
