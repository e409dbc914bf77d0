"""Exports of a trace: Chrome trace-event JSON (Perfetto), wav files and events.jsonl.

Chrome trace layout (one process, times in microseconds of stream time):
  tid 1 "micro-turns"   an "X" event per micro-turn [t, t + 0.2), named by its action
  tid 2 "policy step"   an "X" event per step from t + 0.2 lasting step_ms (clipped so steps
                        never overlap; the true value is in args)
  tid 3 "decisions"     an instant ("i") event per decision at t + 0.2, args: probs, text, ...
  tid 10+               "user speech", "model speech", then one track per span kind (and
                        span `track` name); overlapping spans go to extra lanes ("... #2")
                        because Perfetto does not nest overlapping slices on one track
  counters ("C")        "probs" (one series per action) and "level_db", per micro-turn
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nbduplex.microturn import MICROTURN_S, SAMPLE_RATE
from nbduplex.trace.tables import closed_spans, prob_actions

if TYPE_CHECKING:
    from nbduplex.trace.trace import Trace

PID = 1
TID_TURNS, TID_STEP, TID_DECISIONS, TID_SPANS = 1, 2, 3, 10
EVENT_KEYS = ("seq", "t", "action", "speaking", "text", "probs", "step_ms")  # CLI contract
_SKIP_IN_EVENTS = frozenset({"text_in"})


def _us(seconds: float) -> int:
    return int(round(float(seconds) * 1e6))


def _meta_event(name: str, tid: int, value: str | int, key: str = "name") -> dict[str, Any]:
    return {"ph": "M", "name": name, "pid": PID, "tid": tid, "args": {key: value}}


def chrome_events(trace: Trace) -> list[dict[str, Any]]:
    """The `traceEvents` list of the Chrome trace of `trace` (see the module docstring)."""
    policy = trace.policy or "policy"
    ev: list[dict[str, Any]] = [_meta_event("process_name", 0, f"nbduplex ({policy})")]
    for tid, name in (
        (TID_TURNS, "micro-turns"),
        (TID_STEP, "policy step"),
        (TID_DECISIONS, "decisions"),
    ):
        ev += [
            _meta_event("thread_name", tid, name),
            _meta_event("thread_sort_index", tid, tid, "sort_index"),
        ]
    rows = trace.rows
    actions = prob_actions(rows)
    dt = _us(MICROTURN_S)
    for i, r in enumerate(rows):
        ts = _us(r["t"])
        args = {"seq": r["seq"], "text": r["text"], "flags": r["flags"], "level_db": r["level_db"]}
        ev.append(
            {
                "ph": "X",
                "name": r["action"],
                "cat": "microturn",
                "pid": PID,
                "tid": TID_TURNS,
                "ts": ts,
                "dur": dt,
                "args": args,
            }
        )
        limit = (_us(rows[i + 1]["t"]) + dt if i + 1 < len(rows) else ts + 2 * dt) - (ts + dt)
        dur = max(1, min(_us(r["step_ms"] / 1000.0), limit))
        ev.append(
            {
                "ph": "X",
                "name": "step",
                "cat": "policy",
                "pid": PID,
                "tid": TID_STEP,
                "ts": ts + dt,
                "dur": dur,
                "args": {"step_ms": r["step_ms"], "seq": r["seq"]},
            }
        )
        dargs = {k: r.get(k) for k in ("seq", "probs", "text", "task", "attribution", "info")}
        if "latency_ms" in r:
            dargs["latency_ms"] = r["latency_ms"]
        ev.append(
            {
                "ph": "i",
                "s": "t",
                "name": r["action"],
                "cat": "decision",
                "pid": PID,
                "tid": TID_DECISIONS,
                "ts": ts + dt,
                "args": dargs,
            }
        )
        probs = {a: float(r.get("probs", {}).get(a) or 0.0) for a in actions}
        ev.append({"ph": "C", "name": "probs", "pid": PID, "ts": ts, "args": probs})
        ev.append(
            {
                "ph": "C",
                "name": "level_db",
                "pid": PID,
                "ts": ts,
                "args": {"level_db": r["level_db"] if r["level_db"] is not None else -100.0},
            }
        )
    ev += _span_events(trace)
    return ev


def _span_events(trace: Trace) -> list[dict[str, Any]]:
    """Speech and other spans as "X"/"i" events, each group on its own lanes."""
    groups: dict[str, list[tuple[str, int, int, dict[str, Any]]]] = {
        "user speech": [("user speech", _us(a), _us(b), {}) for a, b in trace.user_speech_spans()]
    }
    explicit_model = closed_spans(trace, {"model_speech"})
    groups["model speech"] = (
        []
        if explicit_model
        else [("model speech", _us(a), _us(b), {}) for a, b in trace.model_speech_spans()]
    )
    for s in closed_spans(trace):
        if s["kind"] == "user_speech":
            continue  # already in "user speech" (user_speech_spans uses them when present)
        group = "model speech" if s["kind"] == "model_speech" else s["kind"]
        if s.get("track"):
            group = f"{group}: {s['track']}"
        args = {k: v for k, v in s.items() if k not in ("start", "end")}
        groups.setdefault(group, []).append(
            (s.get("label") or s["kind"], _us(s["start"]), _us(s["end"]), args)
        )
    ev: list[dict[str, Any]] = []
    tid = TID_SPANS
    for group, items in groups.items():
        lane_ends: list[int] = []
        lane_tids: list[int] = []
        for name, a, b, args in sorted(items, key=lambda x: (x[1], x[2])):
            lane = next((j for j, e in enumerate(lane_ends) if e <= a), None)
            if lane is None:
                lane, label = (
                    len(lane_ends),
                    group if not lane_ends else f"{group} #{len(lane_ends) + 1}",
                )
                lane_ends.append(b)
                lane_tids.append(tid)
                ev += [
                    _meta_event("thread_name", tid, label),
                    _meta_event("thread_sort_index", tid, tid, "sort_index"),
                ]
                tid += 1
            lane_ends[lane] = max(b, a)
            base = {
                "name": name,
                "cat": group,
                "pid": PID,
                "tid": lane_tids[lane],
                "ts": a,
                "args": args,
            }
            ev.append(base | ({"ph": "X", "dur": b - a} if b > a else {"ph": "i", "s": "t"}))
        if not items:
            ev += [
                _meta_event("thread_name", tid, group),
                _meta_event("thread_sort_index", tid, tid, "sort_index"),
            ]
            tid += 1
    return ev


def write_chrome_trace(trace: Trace, path: str | Path) -> Path:
    """Write `{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": meta}` to `path`."""
    path = Path(path)
    doc = {
        "traceEvents": chrome_events(trace),
        "displayTimeUnit": "ms",
        "otherData": {"policy": trace.policy, "meta": trace.meta},
    }
    path.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False), encoding="utf-8")
    return path


def write_wav(audio: np.ndarray, path: str | Path) -> Path:
    """Write int16 mono audio as a 16 kHz PCM_16 wav."""
    import soundfile as sf

    path = Path(path)
    sf.write(
        str(path), np.asarray(audio, dtype=np.int16), SAMPLE_RATE, subtype="PCM_16", format="WAV"
    )
    return path


def event_record(row: dict[str, Any]) -> dict[str, Any]:
    """The events.jsonl object of one row: the contract keys first, then the rest of the row."""
    rec = {k: row[k] for k in EVENT_KEYS}
    rec["t"], rec["step_ms"] = float(rec["t"]), float(rec["step_ms"])
    rec |= {k: v for k, v in row.items() if k not in rec and k not in _SKIP_IN_EVENTS}
    return rec


def write_events_jsonl(trace: Trace, path: str | Path) -> Path:
    """One JSON object per micro-turn, in order (keys: see `EVENT_KEYS`, then the row's rest)."""
    path = Path(path)
    with open(path, "w", encoding="utf-8") as f:
        for r in trace.rows:
            f.write(json.dumps(event_record(r), ensure_ascii=False, allow_nan=False) + "\n")
    return path
