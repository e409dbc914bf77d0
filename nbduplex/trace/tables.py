"""Columnar views of a trace: pandas frames and derived speech spans."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbduplex.decision import ACTIONS
from nbduplex.microturn import MICROTURN_S

if TYPE_CHECKING:
    import pandas as pd

    from nbduplex.trace.trace import Trace

BASE_COLUMNS = (
    "seq",
    "t",
    "wall",
    "action",
    "speaking",
    "text",
    "task",
    "user_text",
    "step_ms",
    "level_db",
)
NESTED = frozenset({"probs", "attribution", "info", "flags", "text_in", "n_frames"})
VAD_KEYS = ("user_speech", "vad", "speech_prob")  # Decision.info keys read as user speech (>= 0.5)


def prob_actions(rows: list[dict[str, Any]]) -> list[str]:
    """The actions to show probabilities for: ACTIONS, then any other key seen, in order."""
    extra = dict.fromkeys(k for r in rows for k in r.get("probs", {}) if k not in ACTIONS)
    return [*ACTIONS, *extra]


def turns_frame(trace: Trace) -> pd.DataFrame:
    """One row per micro-turn.

    Columns: seq, t, wall, action, speaking, text, task, user_text, step_ms, level_db, any
    extra scalar columns passed to `append` (e.g. latency_ms), p_<action> for every action
    (0.0 where a policy gave none), n_frames, flags (comma-joined, "" if none).
    """
    import pandas as pd

    rows = trace.rows
    extras = list(
        dict.fromkeys(k for r in rows for k in r if k not in BASE_COLUMNS and k not in NESTED)
    )
    actions = prob_actions(rows)
    data: dict[str, list[Any]] = {c: [r.get(c) for r in rows] for c in (*BASE_COLUMNS, *extras)}
    for a in actions:
        data[f"p_{a}"] = [float(r.get("probs", {}).get(a) or 0.0) for r in rows]
    data["n_frames"] = [int(r.get("n_frames", 0)) for r in rows]
    data["flags"] = [",".join(r.get("flags", [])) for r in rows]
    df = pd.DataFrame(data)
    for c in extras:  # numeric extras with gaps (None) become float columns with NaN
        values = [v for v in data[c] if v is not None]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            df[c] = df[c].astype("float64")
    types = {
        "seq": "int64",
        "t": "float64",
        "wall": "float64",
        "speaking": "bool",
        "step_ms": "float64",
        "level_db": "float64",
    }
    return df.astype(types)


def spans_frame(trace: Trace) -> pd.DataFrame:
    """One row per span: id, kind, track, label, start, end, duration, open, then data columns.

    An open span (never ended, e.g. after a crash) has `open` True and ends at the trace end.
    """
    import pandas as pd

    end_t = trace.end_time
    records = []
    for s in trace.spans:
        end = s.get("end")
        rec = {
            "id": s["id"],
            "kind": s["kind"],
            "track": s.get("track", ""),
            "label": s.get("label", ""),
            "start": float(s["start"]),
            "end": float(end) if end is not None else max(end_t, float(s["start"])),
            "open": end is None,
        }
        rec["duration"] = rec["end"] - rec["start"]
        rec |= {k: v for k, v in s.items() if k not in rec}
        records.append(rec)
    cols = ["id", "kind", "track", "label", "start", "end", "duration", "open"]
    df = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=cols)
    return df[cols + [c for c in df.columns if c not in cols]]


def closed_spans(trace: Trace, kinds: set[str] | None = None) -> list[dict[str, Any]]:
    """Spans (of `kinds`, or all) with open ends filled with the trace end time."""
    end_t = trace.end_time
    out = []
    for s in trace.spans:
        if kinds is None or s["kind"] in kinds:
            end = s.get("end")
            out.append(s | {"end": float(end) if end is not None else max(end_t, s["start"])})
    return out


def runs(rows: list[dict[str, Any]], active: list[bool]) -> list[tuple[float, float]]:
    """Merge consecutive active micro-turns into (start, end) seconds."""
    spans: list[tuple[float, float]] = []
    start = None
    for row, on in zip(rows, active, strict=True):
        if on and start is None:
            start = row["t"]
        elif not on and start is not None:
            spans.append((float(start), float(row["t"])))
            start = None
    if start is not None:
        spans.append((float(start), float(rows[-1]["t"]) + MICROTURN_S))
    return spans


def user_speech_spans(trace: Trace, *, threshold_db: float = -45.0) -> list[tuple[float, float]]:
    """(start, end) seconds of user speech.

    From "user_speech" spans when the trace has any; else from a VAD probability the policy
    put in `Decision.info` (keys "user_speech", "vad" or "speech_prob", >= 0.5); else from the
    input level (`level_db` >= `threshold_db`). Derived spans have micro-turn resolution.
    """
    marked = closed_spans(trace, {"user_speech"})
    if marked:
        return sorted((float(s["start"]), float(s["end"])) for s in marked)
    rows = trace.rows
    for key in VAD_KEYS:
        if rows and all(isinstance(r.get("info", {}).get(key), (bool, int, float)) for r in rows):
            return runs(rows, [float(r["info"][key]) >= 0.5 for r in rows])
    return runs(rows, [(r.get("level_db") or -100.0) >= threshold_db for r in rows])


def model_speech_spans(trace: Trace) -> list[tuple[float, float]]:
    """(start, end) seconds where the model's voice is audible (runs of `speaking` rows)."""
    return runs(trace.rows, [bool(r.get("speaking")) for r in trace.rows])
