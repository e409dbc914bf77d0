"""Training data for the interaction model, generated from nbduplex.scenarios (train voices).

Each scenario becomes one example: per micro-turn inputs (dMel codes of the whole signal,
the newest frame downscaled, the text that arrived, time, since-text, the model-speaking flag)
and targets (one action per micro-turn from `labels.target_actions()`, and a reply id on the
micro-turns whose target is a speech action).

Teacher forcing of the model's own behaviour: after a target speech action at micro-turn k
the model's words arrive as a TextEvent("model", words) in micro-turn k + 1 (as the session
does) and the speaking flag is on from k + 1 for the length of those words spoken by the default
speaker voice; when a barge-in (target `yield` at y) follows a response, the model is taken to
still be talking until y, and silent from y + 1.

Label shaping (DATA_VERSION >= 2):
- late answers: for `LATE_RESPOND_P` of the turn-end answers (seeded by the scenario seed) the
  teacher-forced answer comes one micro-turn late (target "listen" -> IGNORE at the ideal
  micro-turn, "respond" at the next one), so the model learns that a missed turn end is still
  answered rather than never seeing "turn over, not yet speaking";
- back-channel recovery (`DataConfig.bc_recovery`, DATA_VERSION >= 4): for that share (0.2) of
  the turn-end answers the model is teacher-forced to have said a back-channel at the turn end
  (its words and speaking flag; the action there is IGNOREd, not taught), and the answer is
  taught right after the back-channel ends. Most missed turn ends on held-out voices were a
  back-channel where an answer was due, then silence. Measured (MODEL_CARD.md): more turn ends
  taken, but also more mid-turn pauses answered; 0 turns it off;
- back-channel in a pause (DATA_VERSION >= 5): the same share of mid-turn pauses of at least
  `PAUSE_BC_MIN_S` get a teacher-forced back-channel at their start, followed by "listen": so
  "I said mm-hm and it is quiet" is no shortcut for "answer now" (stage 4, trained without
  these, answered 7 of 37 pauses it took on held-out voices right after its own back-channel);
- pause mask: `pause[k]` marks the "listen" micro-turns decided inside a labelled mid-turn
  pause (the hard negatives of turn-taking); training multiplies their action loss by
  `TrainConfig.pause_weight`;
- timing tolerance: instructed, cue, counting and visual events are scored within
  +-`tolerance_s`, so the micro-turns next to the ideal one are IGNOREd for the action loss
  (not punished as "listen") and carry the same word target;
- anchors: `anchor[k]` is the micro-turn of the spoken instruction a target at k depends on
  (-1 for none or a typed one, which the text reminder carries); `collate` drops targets whose
  spoken instruction lies before the crop (unanswerable).
The text of every micro-turn carries the instruction reminder (`featurize.InstructionMemory`).

Channel augmentation: `DataConfig.narrowband` of the scenarios (chosen by their seed) have the
speech low-passed at 3-4 kHz before room and noise (`ScenarioConfig.bandwidth_hz`), as an
8 kHz-sampled voice, a telephone or a Bluetooth headset delivers it.

Examples are cached as .npz files (one per scenario) under `DataConfig.cache_dir`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, TextEvent
from nbduplex.model.config import BACKCHANNEL_REPLIES, ModelConfig
from nbduplex.model.featurize import InstructionMemory, downscale, encode_text
from nbduplex.model.inputs import TurnInputs

DATA_VERSION = 5  # bump when the example format or the labelling rule changes
IGNORE = -100  # target value that the losses skip
SPEECH = ("respond", "backchannel", "interject")
LATE_RESPOND_P = 0.3  # share of turn-end answers teacher-forced one micro-turn late
TOLERANT_CAUSES = ("timespeak", "cue", "count", "visual")  # scored with a timing tolerance
INSTRUCTED_CAUSES = {"timespeak": "timespeak", "cue": "cuespeak", "count": "count"}
PAUSE_BC_MIN_S = 0.6  # s; mid-turn pauses at least this long may get a forced back-channel


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
    workers: int = 1  # processes generating scenarios


def reply_id(text: str, action: str, replies: tuple[str, ...]) -> int:
    """The word-head class for an expected utterance (exact match, else a fallback)."""
    norm = {r.lower().strip(" .!?"): i for i, r in enumerate(replies)}
    key = text.lower().strip(" .!?")
    if key in norm and key:
        return norm[key]
    if text.lower().startswith("i see a"):
        return replies.index("I see something.")
    if any(c.isdigit() for c in text) and "@agent" in replies:
        return replies.index("@agent")
    if action == "backchannel":
        return norm.get("mm-hm", 1)
    return 1  # the first answer


_DURATION_CACHE: dict[str, float] = {}


def spoken_seconds(text: str) -> float:
    """How long the default speaker voice takes to say `text` (espeak en-us, 180 wpm)."""
    if text not in _DURATION_CACHE:
        try:
            from nbduplex.tts import synthesize

            _DURATION_CACHE[text] = len(synthesize(text, "espeak", "en-us", 180).audio) / 16000
        except Exception:  # no synthesiser: about 0.3 s per word
            _DURATION_CACHE[text] = 0.3 * max(1, len(text.split()))
    return _DURATION_CACHE[text]


def scenario_example(
    scenario, config: ModelConfig, bc_recovery: float = 0.2
) -> dict[str, np.ndarray]:
    """One scenario -> arrays of length T = number of micro-turns (see module docstring)."""
    from nbduplex.features import dmel_codes

    n = scenario.n_turns
    codes = dmel_codes(scenario.audio[: n * CHUNK_SAMPLES])[: n * 16].reshape(n, 16, 80)
    s = config.image_size
    image = np.zeros((n, 3, s, s), np.uint8)
    has_image = np.zeros(n, bool)
    for k, fr in enumerate(scenario.frames[:n]):
        if fr:
            image[k] = np.round(downscale(fr[-1], s) * 255).astype(np.uint8)
            has_image[k] = True
    names = list(config.actions)
    targets = scenario.labels.target_actions(n)
    action = np.array([names.index(a) for a in targets], np.int64)
    reply = np.full(n, IGNORE, np.int64)
    speaking = np.zeros(n, np.float32)
    model_text: dict[int, str] = {}
    anchor = np.full(n, -1, np.int64)
    expected = sorted(scenario.labels.expected, key=lambda e: e.seq)
    rng = np.random.default_rng([int(scenario.labels.seed), 7])
    busy = {e.seq for e in expected}
    for i, e in enumerate(expected):
        if e.action not in SPEECH or not 0 <= e.seq < n:
            continue
        rid = reply_id(e.text, e.action, config.replies)
        seq = e.seq
        shape = rng.random() if e.action == "respond" else 1.0
        late = (
            e.cause in ("turn_end", "after_barge_in")
            and seq + 2 < n
            and seq + 1 not in busy
            and shape < LATE_RESPOND_P
        )
        if late:
            action[seq] = IGNORE
            seq += 1
            action[seq] = names.index("respond")
        elif e.cause == "turn_end" and shape < LATE_RESPOND_P + bc_recovery:
            seq = _after_backchannel(seq, n, busy, rng, action, model_text, speaking, names)
        reply[seq] = rid
        if e.cause in TOLERANT_CAUSES:
            for j in (seq - 1, seq + 1):
                if 0 <= j < n and j not in busy and action[j] == names.index("listen"):
                    action[j], reply[j] = IGNORE, rid
        if e.cause in INSTRUCTED_CAUSES:
            ins = [
                x
                for x in scenario.labels.instructions
                if x.kind == INSTRUCTED_CAUSES[e.cause] and x.t <= e.t + 1e-6
            ]
            if ins and ins[-1].channel == "spoken":
                anchor[max(0, seq - 1) : seq + 2] = int(ins[-1].t / MICROTURN_S)
        said = e.text if config.replies[rid] == "@agent" else config.replies[rid]
        model_text[seq + 1] = said
        stop = seq + 1 + math.ceil(spoken_seconds(said) / MICROTURN_S)
        nxt = next((f for f in expected[i + 1 :] if f.seq > e.seq), None)
        if nxt is not None and nxt.action == "yield":
            stop = nxt.seq + 1  # talking until the barge-in is handled
        speaking[seq + 1 : min(stop, n)] = 1.0
    for span in scenario.labels.pauses:
        if span.end - span.start >= PAUSE_BC_MIN_S and rng.random() < bc_recovery:
            _backchannel_in_pause(span, n, busy, rng, action, model_text, speaking, names)
    pause = _pause_mask(scenario.labels.pauses, action, names)
    text = np.zeros((n, config.max_text_bytes), np.int16)
    since = np.zeros(n, np.float32)
    memory = InstructionMemory()  # the same rule as the streaming Featurizer
    for k in range(n):
        events = list(scenario.text_at(k))
        if k in model_text:
            events.append(TextEvent("model", model_text[k]))
        since[k], reminder = memory.update(events, k * MICROTURN_S)
        text[k] = encode_text(events, config.max_text_bytes, reminder)
    return {
        "codes": codes.astype(np.uint8),
        "image": image,
        "has_image": has_image,
        "text": text,
        "speaking": speaking,
        "since_text": since,
        "action": action,
        "reply": reply,
        "anchor": anchor,
        "pause": pause,
    }


def _pause_mask(pauses, action: np.ndarray, names: list[str]) -> np.ndarray:
    """(n,) bool: "listen" targets of the micro-turns decided inside a mid-turn pause."""
    from nbduplex.scenarios.labels import reaction_seq

    mask = np.zeros(len(action), bool)
    for span in pauses:
        mask[reaction_seq(span.start) : reaction_seq(span.end)] = True
    return mask & (action == names.index("listen"))


def _backchannel_in_pause(span, n, busy, rng, action, model_text, speaking, names) -> None:
    """Teacher-force a back-channel at the start of a mid-turn pause; "listen" stays the target
    after it (the back-channel itself is IGNOREd, neither taught nor punished)."""
    from nbduplex.scenarios.labels import reaction_seq

    seq = reaction_seq(span.start)
    word = BACKCHANNEL_REPLIES[int(rng.integers(len(BACKCHANNEL_REPLIES)))]
    end = seq + 1 + math.ceil(spoken_seconds(word) / MICROTURN_S)
    listen = names.index("listen")
    if end >= n or any(j in busy or j in model_text for j in range(seq, end + 1)):
        return
    if (action[seq : end + 1] != listen).any():
        return
    action[seq] = IGNORE
    model_text[seq + 1] = word
    speaking[seq + 1 : end] = 1.0


def _after_backchannel(seq, n, busy, rng, action, model_text, speaking, names) -> int:
    """Teacher-force a back-channel said at `seq`; return the micro-turn of the late answer
    (right after it), or `seq` unchanged when the answer would not fit before other events."""
    word = BACKCHANNEL_REPLIES[int(rng.integers(len(BACKCHANNEL_REPLIES)))]
    end = seq + 1 + math.ceil(spoken_seconds(word) / MICROTURN_S)  # first silent micro-turn
    if end + 2 >= n or any(j in busy for j in range(seq + 1, end + 2)):
        return seq
    action[seq] = IGNORE  # a back-channel here is not taught, only what follows it
    action[seq + 1 : end] = names.index("listen")
    action[end] = names.index("respond")
    model_text[seq + 1] = word
    speaking[seq + 1 : end] = 1.0
    return end


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


def build_dataset(
    data: DataConfig, config: ModelConfig, progress: bool = True
) -> list[dict[str, np.ndarray]]:
    """Generate (or load from the cache) `data.n_scenarios` examples."""
    from tqdm.auto import tqdm

    if data.voices == "heldout":
        raise ValueError("training data must not use the held-out voices")
    root = Path(data.cache_dir) if data.cache_dir else default_cache_dir()
    key = (
        f"v{DATA_VERSION}-{data.synth}-{data.voices}-s{config.image_size}-b{config.max_text_bytes}"
    )
    key += f"-r{len(config.replies)}-bc{data.bc_recovery:g}"
    key += f"-nb{data.narrowband:g}" if data.narrowband else ""
    d = root / key
    d.mkdir(parents=True, exist_ok=True)
    jobs = [
        (d, *_spec(i, data), data.synth, data.voices, config, data.bc_recovery, data.narrowband)
        for i in range(data.n_scenarios)
    ]
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
