"""Score a session: read ground-truth labels, run every FD-bench metric, flatten to a table row.

`evaluate(rows, labels)` accepts a Trace (or its rows, or a DataFrame) and the labels of a
scenario as a `Labels` object, a `Scenario` (its `.labels`) or the JSON dict of
`Labels.to_dict()`. It reads these label fields (each optional):

- `pauses`: [{start, end}] mid-turn pauses, for `pause_handling`;
- `turn_ends`: [t] user turn ends, for `smooth_turn_taking`; each window runs to the next
  user speech start (from `speech`), at most `window` seconds;
- `interruptions`: [{start, end, ...}] user barge-ins, for `user_interruption`; the response
  window is capped the same way;
- `backchannels`: [{start, end}] back-channel opportunities, for `backchannel`'s hit rate;
- `speech`: [{start, end, ...}] user speech segments (window caps);
- `duration`: the stream length (defaults to the trace's).

`summarize(results)` flattens the nested results into `{"pause.tor": ..., "turn.tor": ...,
"turn.latency_s": ..., "interrupt.stop_latency_s": ..., ...}`; `table({name: summary})` makes a
pandas DataFrame with one row per policy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

from nbduplex.metrics.fdbench import (
    backchannel,
    pause_handling,
    smooth_turn_taking,
    user_interruption,
)
from nbduplex.metrics.segments import as_rows, trace_duration


def _labels_dict(labels: Any) -> dict:
    if hasattr(labels, "labels") and not isinstance(labels, Mapping):
        labels = labels.labels  # a Scenario
    if hasattr(labels, "to_dict"):
        labels = labels.to_dict()
    elif is_dataclass(labels) and not isinstance(labels, type):
        labels = asdict(labels)
    if not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a Labels, a Scenario or a dict, got {type(labels)}")
    return dict(labels)


def _span(item: Any) -> tuple[float, float]:
    if isinstance(item, Mapping):
        return float(item["start"]), float(item["end"])
    if hasattr(item, "start") and hasattr(item, "end"):
        return float(item.start), float(item.end)
    a, b = item
    return float(a), float(b)


def _time(item: Any) -> float:
    if isinstance(item, Mapping):
        for key in ("t", "time", "end"):
            if key in item:
                return float(item[key])
        raise ValueError(f"cannot read a time from {item!r}")
    return float(item)


def _caps(times: Sequence[float], speech_starts: Sequence[float], window: float) -> list[float]:
    """Per event: `window`, cut at the next user speech start after the event."""
    out = []
    for t in times:
        later = [s for s in speech_starts if s > t + 1e-6]
        out.append(min(window, min(later) - t) if later else window)
    return out


def evaluate(rows: Any, labels: Any, window: float = 3.0) -> dict[str, dict]:
    """All FD-bench metrics of one session; categories without labelled events are omitted."""
    rows = as_rows(rows)
    lab = _labels_dict(labels)
    starts = sorted(_span(s)[0] for s in lab.get("speech") or [])
    out: dict[str, dict] = {}
    if lab.get("pauses"):
        out["pause"] = pause_handling(rows, [_span(p) for p in lab["pauses"]])
    if lab.get("turn_ends"):
        ends = [_time(t) for t in lab["turn_ends"]]
        out["turn"] = smooth_turn_taking(rows, ends, window=_caps(ends, starts, window))
    if lab.get("interruptions"):
        ints = [_span(i) for i in lab["interruptions"]]
        caps = _caps([b for _, b in ints], starts, window)
        out["interrupt"] = user_interruption(rows, ints, window=caps)
    duration = float(lab.get("duration") or trace_duration(rows))
    duration = min(duration, trace_duration(rows)) if rows else duration
    if duration > 0:
        opp = [_span(b) for b in lab.get("backchannels") or []]
        out["backchannel"] = backchannel(rows, span=(0.0, duration), opportunities=opp)
    return out


_SUMMARY_KEYS = {
    "pause": (("tor", "tor"), ("n", "n")),
    "turn": (("tor", "tor"), ("latency", "latency_s"), ("n", "n")),
    "interrupt": (
        ("stop_latency", "stop_latency_s"),
        ("stopped_rate", "stopped_rate"),
        ("overlap_s", "overlap_s"),
        ("tor", "tor"),
        ("latency", "latency_s"),
        ("n", "n"),
    ),
    "backchannel": (("frequency", "freq_per_s"), ("tor", "tor"), ("hit_rate", "hit_rate")),
}


def summarize(results: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Flatten `evaluate`'s result into `{"<category>.<metric>": value}` (NaN = no events)."""
    flat: dict[str, float] = {}
    for cat, keys in _SUMMARY_KEYS.items():
        if cat not in results:
            continue
        for key, name in keys:
            v = results[cat].get(key)
            flat[f"{cat}.{name}"] = math.nan if v is None else float(v)
    return flat


def table(summaries: Mapping[str, Mapping[str, float]]):
    """A pandas DataFrame, one row per name (e.g. policy), one column per metric."""
    import pandas as pd

    return pd.DataFrame.from_dict({k: dict(v) for k, v in summaries.items()}, orient="index")
