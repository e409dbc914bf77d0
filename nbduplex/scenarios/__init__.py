"""Seeded synthetic scenarios with ground truth, for tests, benchmarks and training.

    from nbduplex.scenarios import generate_scenario, generate_mixture, SCENARIO_KINDS
    sc = generate_scenario("turn_taking", seed=3)              # espeak, training voices
    sc = generate_scenario("cuespeak", 7, voices="heldout", snr_db=20)
    sc = generate_scenario("timespeak", 7, synth="flite")      # cross-synthesiser set
    sc.audio, sc.frames, sc.text_events, sc.labels             # see scenario.py, labels.py
    for turn in sc.source(): ...                               # MicroTurns, seq 0..n-1
    sc.write("out/")              # input.wav, video.y4m, text.json, labels.json

The same arguments always give identical arrays and labels.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from nbduplex.scenarios.builder import Builder, ScenarioConfig
from nbduplex.scenarios.kinds import SCENARIO_KINDS
from nbduplex.scenarios.labels import Expected, Labels
from nbduplex.scenarios.scenario import Scenario, ScenarioSource, event_seq
from nbduplex.scenarios.voices import (
    VoiceParams,
    flite_voices,
    heldout_voices,
    pico_voices,
    train_voices,
)
from nbduplex.scenarios.y4m import write_y4m


def _config(synth: str, voices, snr_db, **kw) -> ScenarioConfig:
    names = {f.name for f in fields(ScenarioConfig)}
    bad = set(kw) - names
    if bad:
        raise TypeError(f"unknown scenario option(s) {sorted(bad)}; options: {sorted(names)}")
    return ScenarioConfig(synth=synth, voices=voices, snr_db=snr_db, **kw)


def generate_scenario(
    kind: str,
    seed: int,
    *,
    synth: str = "espeak",
    voices: list[str] | str | None = None,
    snr_db: float | None = None,
    **options,
) -> Scenario:
    """One scenario of `kind` (a key of SCENARIO_KINDS) from `seed`.

    voices: a list of voice names, "train" (default for espeak), "heldout", or None.
    snr_db: None for a random 5-35 dB, float("inf") for no noise. Other options are
    ScenarioConfig fields: noise, room, bandwidth_hz, level_dbfs, frame_size, frames_per_turn,
    simulate_agent, tail_s.
    """
    if kind not in SCENARIO_KINDS:
        raise ValueError(f"unknown scenario kind {kind!r}; choose one of {list(SCENARIO_KINDS)}")
    b = Builder(kind, int(seed), _config(synth, voices, snr_db, **options))
    b.wait(float(b.rng.uniform(0.3, 1.0)))
    SCENARIO_KINDS[kind](b)
    return b.build()


def generate_mixture(
    seed: int,
    n_kinds: int | None = None,
    *,
    kinds: list[str] | None = None,
    synth: str = "espeak",
    voices: list[str] | str | None = None,
    snr_db: float | None = None,
    **options,
) -> Scenario:
    """Several kinds chained in one stream (random order and number, 2-4 unless `n_kinds`).

    `labels.kind` is "mixture" and `labels.tasks` lists the chained kinds in order.
    """
    b = Builder("mixture", int(seed), _config(synth, voices, snr_db, **options))
    pool = list(kinds or SCENARIO_KINDS)
    bad = [k for k in pool if k not in SCENARIO_KINDS]
    if bad:
        raise ValueError(f"unknown scenario kind(s) {bad}; choose from {list(SCENARIO_KINDS)}")
    n = n_kinds if n_kinds is not None else int(b.rng.integers(2, 5))
    if n < 1:
        raise ValueError(f"n_kinds must be >= 1, got {n}")
    chosen = [str(k) for k in b.rng.choice(pool, n, replace=n > len(pool))]
    b.labels.tasks = chosen
    b.wait(float(b.rng.uniform(0.3, 1.0)))
    for k in chosen:
        SCENARIO_KINDS[k](b)
        b.wait(float(b.rng.uniform(0.5, 1.5)))
    return b.build()


def random_seeds(seed: int, n: int) -> list[int]:
    """n distinct-looking seeds derived from one (for datasets)."""
    return [int(x) for x in np.random.default_rng(seed).integers(0, 2**31, n)]


__all__ = [
    "SCENARIO_KINDS",
    "Builder",
    "Expected",
    "Labels",
    "Scenario",
    "ScenarioConfig",
    "ScenarioSource",
    "VoiceParams",
    "event_seq",
    "flite_voices",
    "pico_voices",
    "generate_mixture",
    "generate_scenario",
    "heldout_voices",
    "random_seeds",
    "train_voices",
    "write_y4m",
]
