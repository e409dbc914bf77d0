"""Evaluate a policy on held-out scenarios: FD-bench v1 timing plus the task accuracies.

    from nbduplex.model.evaluate import evaluate, evaluation_table
    r = evaluate("model", "heldout")        # or "flite" (another synthesiser), "train"
    evaluation_table({"model": r, ...})     # pandas DataFrame

Each scenario runs through the real session loop (`nbduplex.session.Session`: the same
MicroTurns, speaker and model-speaking flag as a live session), then:
- FD-bench v1 metrics from `nbduplex.metrics` (events pooled over all scenarios; turn-taking
  latency is the *median* over takeovers);
- TimeSpeak / CueSpeak accuracy: an instructed utterance counts when the model starts saying
  the right word within +-0.5 s (TimeSpeak) / +-0.6 s (CueSpeak) of the ideal start (the
  labels' `tolerance_s`; the ideal start is the end of the expected micro-turn); also split by
  how the instruction came (`typed_acc`: a text event, `spoken_acc`: in the user's speech);
- counting: the count said = the largest number word spoken during the motion (plus 2 s);
  OBO = share with |count - truth| <= 1, MAE = mean |count - truth| / truth;
- visual interjection: hit rate (speech within 3 s of the object appearing) and median latency;
- delegation: share of requests with a `delegate` action within 1.5 s of the turn end;
  `delegation.precision` = share of the `delegate` decisions that answer a request (within
  that window; NaN when the policy never delegates), `delegation.false_per_min` = the others
  per minute of stream (a false delegation makes the agent say "Sorry, I can't do that");
- false interjections: `interject` decisions with none due from 1 s before to 3 s after
  (per minute of stream: a timed word, a count or "I see something." out of the blue);
- `<rate>.lo` / `<rate>.hi`: the 95 % interval of each rate (TOR, stopped rate, task
  accuracies) by resampling scenarios (`model/intervals.py`).
Splits: "heldout" = espeak voices never used in training, "flite" = the flite synthesiser
(never used in training), "train" = training voices with unseen seeds, "festival" =
festival voices flite does not have (a development set for choosing between models; see
nbduplex.tts.festival).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nbduplex.decision import SPEECH_ACTIONS
from nbduplex.microturn import MICROTURN_S
from nbduplex.model.intervals import RATES, differences, intervals, rate_counts

SPLITS = {
    "heldout": ("espeak", "heldout"),
    "flite": ("flite", None),
    "train": ("espeak", "train"),
    "festival": ("festival", None),
}
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
           "ten", "eleven", "twelve"]  # fmt: skip
EVAL_SEED = 10_000  # evaluation seeds start here (training seeds are random 31-bit numbers)


def _norm(s: str) -> str:
    return s.lower().strip(" .!?,")


def _utterances(rows: list[dict]) -> list[tuple[float, str, str]]:
    """(speech start time, action, words) of every speech decision."""
    out = []
    for r in rows:
        if r["action"] in {a.value for a in SPEECH_ACTIONS} and not r.get("info", {}).get(
            "suppressed"
        ):
            out.append((float(r["t"]) + MICROTURN_S, r["action"], str(r.get("text") or "")))
    return out


def task_scores(rows: list[dict], labels) -> dict[str, list[float]]:
    """Per-event task outcomes of one session (lists, so sessions can be pooled)."""
    utt = _utterances(rows)
    out: dict[str, list[float]] = {k: [] for k in
           ("timespeak", "cuespeak", "count_obo", "count_mae", "visual_hit", "visual_latency",
            "delegation", "agent_answer", "timespeak_typed", "timespeak_spoken", "cuespeak_typed",
            "cuespeak_spoken", "delegate_true", "interject_false")}  # fmt: skip
    for e in labels.expected:
        ideal = (e.seq + 1) * MICROTURN_S
        ok = any(abs(s - ideal) <= e.tolerance_s + 1e-6 and _norm(w) == _norm(e.text)
                 for s, _, w in utt)  # fmt: skip
        if e.cause in ("timespeak", "cue"):
            task = "timespeak" if e.cause == "timespeak" else "cuespeak"
            out[task].append(float(ok))
            given = [i for i in labels.instructions if i.kind == task and i.t <= e.t + 1e-6]
            if given:  # the instruction this event answers: typed or spoken?
                out[f"{task}_{given[-1].channel}"].append(float(ok))
        elif e.cause == "agent_result":
            out["agent_answer"].append(float(ok))
        elif e.cause == "visual":
            lat = [s - e.t for s, _, _ in utt if e.t - 1e-6 <= s <= e.t + 3.0]
            out["visual_hit"].append(float(bool(lat)))
            if lat:
                out["visual_latency"].append(min(lat))
        elif e.cause == "delegation":
            hit = any(r["action"] == "delegate" and e.t - 0.2 <= r["t"] <= e.t + 1.5 for r in rows)
            out["delegation"].append(float(hit))
    asked = [e.t for e in labels.expected if e.cause == "delegation"]
    for r in rows:  # every delegate decision: does it answer a request?
        if r["action"] == "delegate":
            ok = any(t - 0.2 <= r["t"] <= t + 1.5 for t in asked)
            out["delegate_true"].append(float(ok))
    due = [e.t for e in labels.expected if e.action == "interject"]
    for r in rows:  # every interjection: is one due around it (1 s before to 3 s after)?
        said = r["action"] == "interject" and not r.get("info", {}).get("suppressed")
        if said and not any(t - 1.0 <= r["t"] <= t + 3.0 for t in due):
            out["interject_false"].append(1.0)
    for m in labels.motion:
        said = [NUMBERS.index(_norm(w)) for s, _, w in utt
                if m.start <= s <= m.end + 2.0 and _norm(w) in NUMBERS]  # fmt: skip
        pred = max(said, default=0)
        out["count_obo"].append(float(abs(pred - m.count) <= 1))
        out["count_mae"].append(abs(pred - m.count) / m.count)
    return out


def _pool(results: list[dict]) -> dict[str, float]:
    """Pool FD-bench events of many sessions into one summary."""
    ev = {k: [e for r in results for e in r.get(k, {}).get("events", [])]
          for k in ("pause", "turn", "interrupt")}  # fmt: skip
    lat = [e["latency"] for e in ev["turn"] if e["latency"] is not None]
    spoken = [e for e in ev["interrupt"] if e["model_speaking"]]
    bc = [r["backchannel"] for r in results if "backchannel" in r]
    n_opp = sum(b["n_opportunities"] for b in bc)
    hits = sum(b["hit_rate"] * b["n_opportunities"] for b in bc if b["n_opportunities"])

    def mean(xs):
        return float(np.mean(xs)) if len(xs) else math.nan

    return {
        "pause.tor": mean([e["tor"] for e in ev["pause"]]),
        "turn.tor": mean([e["tor"] for e in ev["turn"]]),
        "turn.latency_median_s": float(np.median(lat)) if lat else math.nan,
        "interrupt.stopped_rate": mean([e["stopped"] for e in spoken]),
        "interrupt.n_model_speaking": float(len(spoken)),
        "backchannel.freq_per_s": sum(b["count"] for b in bc)
        / max(1e-9, sum(b["duration"] for b in bc)),
        "backchannel.hit_rate": hits / n_opp if n_opp else math.nan,
    }


def evaluate(
    policy: Any = "model",
    split: str = "heldout",
    *,
    n_per_kind: int = 4,
    kinds: list[str] | None = None,
    seed: int = EVAL_SEED,
    progress: bool = True,
    per_scenario: list | None = None,
) -> dict[str, float]:
    """Run `n_per_kind` scenarios of every kind through `policy`; pooled metrics (see above).
    `per_scenario`: a list to fill with each scenario's (hits, events) per rate, in order (for
    `intervals.differences` between two policies on the same scenarios)."""
    from tqdm.auto import tqdm

    from nbduplex.metrics import evaluate as fd_evaluate
    from nbduplex.policy import resolve_policy
    from nbduplex.scenarios import SCENARIO_KINDS, generate_scenario
    from nbduplex.session import Session

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {list(SPLITS)}")
    synth, voices = SPLITS[split]
    pol = resolve_policy(policy) if isinstance(policy, str) else policy
    kinds = list(kinds or SCENARIO_KINDS)
    fd, tasks, minutes = [], {}, 0.0
    per_scenario = [] if per_scenario is None else per_scenario
    jobs = [(k, seed + i) for k in kinds for i in range(n_per_kind)]
    for kind, s in tqdm(jobs, desc=f"eval {split}", disable=not progress):
        sc = generate_scenario(kind, s, synth=synth, voices=voices)
        trace = Session(sc.source(), pol, realtime=False).run()
        rows = list(trace.rows)
        minutes += sc.duration / 60.0
        fd.append(fd_evaluate(rows, sc.labels))
        scores = task_scores(rows, sc.labels)
        for k, v in scores.items():
            tasks.setdefault(k, []).extend(v)
        per_scenario.append(rate_counts(fd[-1], scores))
    out = _pool(fd)
    mean = {k: (float(np.mean(v)) if v else math.nan) for k, v in tasks.items()}
    n_false = sum(1 for v in tasks.get("delegate_true", []) if not v)
    out.update({
        "timespeak.acc": mean["timespeak"],
        "timespeak.typed_acc": mean["timespeak_typed"],
        "timespeak.spoken_acc": mean["timespeak_spoken"],
        "cuespeak.acc": mean["cuespeak"],
        "cuespeak.typed_acc": mean["cuespeak_typed"],
        "cuespeak.spoken_acc": mean["cuespeak_spoken"],
        "count.obo": mean["count_obo"],
        "count.mae": mean["count_mae"],
        "visual.hit_rate": mean["visual_hit"],
        "visual.latency_median_s": float(np.median(tasks["visual_latency"]))
        if tasks.get("visual_latency") else math.nan,
        "delegation.acc": mean["delegation"],
        "agent_answer.acc": mean["agent_answer"],
        "delegation.precision": mean["delegate_true"],
        "delegation.false_per_min": n_false / minutes if minutes else math.nan,
        "interject.false_per_min": len(tasks.get("interject_false", [])) / minutes
        if minutes else math.nan,
        "scenarios": float(len(jobs)),
    })  # fmt: skip
    out.update(intervals(per_scenario))
    return out


def evaluation_table(results: dict[str, dict[str, float]]):
    """{name: evaluate(...)} -> pandas DataFrame (one row per policy/split)."""
    import pandas as pd

    return pd.DataFrame.from_dict(results, orient="index")


def _with_intervals(df):
    """The table as text, each rate with its 95 % interval: "0.893 [0.845, 0.936]"."""
    text = df.map(lambda v: f"{v:.3f}")
    for rate in RATES:
        if rate in df and f"{rate}.lo" in df:
            lo, hi = df[f"{rate}.lo"], df[f"{rate}.hi"]
            text[rate] = [
                f"{v:.3f} [{a:.3f}, {b:.3f}]" if not math.isnan(a) else f"{v:.3f}"
                for v, a, b in zip(df[rate], lo, hi, strict=True)
            ]
            text = text.drop(columns=[f"{rate}.lo", f"{rate}.hi"])
    return text


def _differences_text(diffs: dict[str, dict[str, float]]) -> str:
    """The paired differences as text: "-0.036 [-0.082, +0.009]" per rate."""
    import pandas as pd

    def cell(d: dict[str, float], rate: str) -> str:
        lo, hi = d[f"{rate}.diff.lo"], d[f"{rate}.diff.hi"]
        return f"{d[f'{rate}.diff']:+.3f} [{lo:+.3f}, {hi:+.3f}]"

    rows = {
        name: {rate: cell(d, rate) for rate in RATES if not math.isnan(d[f"{rate}.diff"])}
        for name, d in diffs.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").T.fillna("").to_string()


def eval_main(args: list[str] | None = None) -> Any:
    """Entry point for `nbduplex eval`: policies x splits -> printed table (and optional CSV).

    nbduplex eval --policy model --policy openai-server-vad --split heldout --split flite
    """
    import argparse

    p = argparse.ArgumentParser(prog="nbduplex eval", description=__doc__.splitlines()[0])
    p.add_argument(
        "--policy", action="append", help="policy name or *.pt (repeatable); default: model"
    )
    p.add_argument("--split", action="append", choices=list(SPLITS), help="default: heldout, flite")
    p.add_argument("--n-per-kind", type=int, default=4, help="scenarios per kind")
    p.add_argument(
        "--kind", action="append", help="scenario kind (repeatable); default: every kind"
    )
    p.add_argument(
        "--seed", type=int, default=EVAL_SEED, help=f"first scenario seed (default {EVAL_SEED})"
    )
    p.add_argument("--csv", default=None, help="also write the table here")
    a = p.parse_args(args)
    from nbduplex.scenarios import SCENARIO_KINDS

    unknown = sorted(set(a.kind or []) - set(SCENARIO_KINDS))
    if unknown:
        p.error(f"unknown scenario kind {unknown[0]!r}; choose from {sorted(SCENARIO_KINDS)}")
    policies, splits = a.policy or ["model"], a.split or ["heldout", "flite"]
    results, per = {}, {}
    for pol in policies:
        for split in splits:
            per[pol, split] = []
            results[f"{pol} / {split}"] = evaluate(
                pol,
                split,
                n_per_kind=a.n_per_kind,
                kinds=a.kind,
                seed=a.seed,
                per_scenario=per[pol, split],
            )
    df = evaluation_table(results)
    print(_with_intervals(df).T.to_string())
    if len(policies) > 1:  # each policy against the first, on the same scenarios
        first = policies[0]
        diffs = {
            f"{pol} - {first} / {split}": differences(per[pol, split], per[first, split])
            for pol in policies[1:]
            for split in splits
        }
        print(f"\ndifferences from {first} (paired, 95 % interval):")
        print(_differences_text(diffs))
    if a.csv:
        df.to_csv(a.csv)
    return df
