"""TimelineWidget: the micro-turn timeline of a live or recorded session, drawn on a canvas.

Rows (trace rows, one per micro-turn) are kept here as compact columns and sent to the browser
as messages with binary buffers (`encode_rows`); nothing is sent before the front end says it
is "ready", and every "ready" (a new view) gets the whole session in one snapshot. Traits hold
only small view settings. Clicking a micro-turn calls the `on_select` callbacks with its seq
(e.g. an InspectorWidget). The browser measures its draw time and reports it (`perf`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from nbduplex.decision import ACTIONS
from nbduplex.widgets._assets import asset

log = logging.getLogger(__name__)

SPAN_KINDS = ("user_speech", "model_speech", "playback", "agent_task", "tool_call", "setting")
FLAG_USER_TEXT, FLAG_MODEL_TEXT, FLAG_GAP, FLAG_LATE, FLAG_USER_SPEECH = 1, 2, 4, 8, 16
_SNAPSHOT_ROWS = 5_000  # rows per snapshot message


def user_note(row: dict) -> str:
    """What the user typed in this micro-turn, else the instruction the model's reader heard in
    the user's speech ("heard: say go in 5 seconds"), else the CueSpeak cue word its spotter
    heard ("heard cue: banana"), else ""."""
    if row.get("user_text"):
        return str(row["user_text"])
    info = row.get("info") or {}
    if info.get("heard_instruction"):
        return f"heard: {info['heard_instruction']}"
    return f"heard cue: {info['cue_heard']}" if info.get("cue_heard") else ""


def _flags(row: dict) -> int:
    f = set(row.get("flags") or ())
    bits = FLAG_USER_TEXT if user_note(row) else 0
    bits |= FLAG_MODEL_TEXT if row.get("text") else 0
    bits |= FLAG_GAP if f & {"missing", "padded"} else 0
    bits |= FLAG_LATE if "late" in f else 0
    info = row.get("info") or {}
    try:  # the policy's own view of user speech: a VAD score or an explicit flag
        speech = bool(info.get("user_speech")) or float(info.get("vad", 0.0)) >= 0.5
    except (TypeError, ValueError):
        speech = False
    return bits | (FLAG_USER_SPEECH if speech else 0)


def encode_rows(rows: list[dict], start: int | None = None) -> tuple[dict, list[bytes]]:
    """Trace rows (consecutive seqs) -> a "turns" message and its six buffers.

    Buffers: level_db float32 (n,), action index uint8 (n,), speaking uint8 (n,),
    probs float32 (n, len(ACTIONS)) in ACTIONS order, step_ms float32 (n,), flag bits uint8 (n,)
    (1 user text, typed or an instruction the reader heard, 2 model text, 4 missing/padded
    audio, 8 late, 16 user speech per the policy's `info["vad"] >= 0.5` or
    `info["user_speech"]`). "texts" maps seq -> [user_note(row), model text].
    """
    n = len(rows)
    s0 = int(rows[0]["seq"]) if rows else int(start or 0)
    index = {a: i for i, a in enumerate(ACTIONS)}
    level = np.empty(n, np.float32)
    action = np.zeros(n, np.uint8)
    speaking = np.zeros(n, np.uint8)
    probs = np.zeros((n, len(ACTIONS)), np.float32)  # (n, A)
    step = np.zeros(n, np.float32)
    flags = np.zeros(n, np.uint8)
    texts: dict[str, list[str]] = {}
    for i, r in enumerate(rows):
        if int(r["seq"]) != s0 + i:
            raise ValueError(f"rows must have consecutive seqs: {r['seq']} after {s0 + i - 1}")
        level[i] = float(r.get("level_db", -100.0))
        action[i] = index.get(str(r.get("action", "listen")), 0)
        speaking[i] = bool(r.get("speaking", False))
        for a, p in (r.get("probs") or {}).items():
            if a in index:
                probs[i, index[a]] = float(p)
        step[i] = float(r.get("step_ms") or 0.0)
        flags[i] = _flags(r)
        note = user_note(r)
        if note or r.get("text"):
            texts[str(s0 + i)] = [note, str(r.get("text") or "")]
    np.nan_to_num(level, copy=False, nan=-100.0)
    meta = {"type": "turns", "start": s0, "n": n, "actions": list(ACTIONS), "texts": texts}
    bufs = [a.tobytes() for a in (level, action, speaking, probs, step, flags)]
    return meta, bufs


def encode_spans(spans: Iterable[dict], kinds: tuple[str, ...] = SPAN_KINDS) -> list[dict]:
    """Trace spans -> the small JSON list the timeline draws."""
    out = []
    for s in spans:
        if s.get("kind") in kinds:
            end = s.get("end")
            out.append(
                {
                    "kind": s["kind"],
                    "start": float(s["start"]),
                    "end": None if end is None else float(end),
                    "label": str(s.get("label", ""))[:80],
                    "track": str(s.get("track", "")),
                }
            )
    return out


class TimelineWidget(anywidget.AnyWidget):
    """Lanes per micro-turn; `append(row)` live, `extend(rows)` in bulk, `set_spans(spans)`."""

    _esm = asset("timeline.js")

    height = t.Int(210).tag(sync=True)  # px
    px_per_s = t.Float(40.0).tag(sync=True)  # zoom: pixels per second
    follow = t.Bool(True).tag(sync=True)  # auto-scroll to the newest micro-turn

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self.rows: list[dict] = []  # the compact rows shown (consecutive seqs)
        self._spans: list[dict] = []
        self._span_key: tuple = ()
        self.ready = False  # a front end said "ready" (then data is sent as it comes)
        self.perf: dict[str, Any] = {}  # last draw-time report from the browser
        self.perf_reports: list[dict[str, Any]] = []
        self._on_select: list[Callable[[int], None]] = []
        self._trace: Any = None
        self.on_msg(self._on_custom_msg)

    # -- data -----------------------------------------------------------------------------------
    def append(self, row: dict) -> None:
        """Add one trace row (the next seq) and send it if a view is ready."""
        self.extend([row])

    def extend(self, rows: Iterable[dict]) -> None:
        """Add consecutive trace rows."""
        keep = [_compact(r) for r in rows]
        if not keep:
            return
        with self._lock:
            if self.rows and keep[0]["seq"] != self.rows[-1]["seq"] + 1:
                raise ValueError(f"seq {keep[0]['seq']} does not follow {self.rows[-1]['seq']}")
            self.rows.extend(keep)
            if self.ready:
                self._send_rows(keep)

    def set_spans(self, spans: Iterable[dict]) -> None:
        """Show these spans (trace span dicts; other kinds are ignored). Sent only on change."""
        enc = encode_spans(spans)
        key = tuple((s["kind"], s["start"], s["end"], s["label"]) for s in enc)
        with self._lock:
            if key == self._span_key:
                return
            self._span_key, self._spans = key, enc
            if self.ready:
                self.send({"type": "spans", "spans": enc})

    def clear(self) -> None:
        """Forget all rows and spans (the view is cleared too)."""
        with self._lock:
            self.rows, self._spans, self._span_key = [], [], ()
            self.send({"type": "reset"})

    def show_trace(self, trace: Any) -> None:
        """Show a whole (saved or finished) trace."""
        self.clear()
        self.extend(trace.rows)
        self.set_spans(trace.spans)

    def watch(self, trace: Any) -> None:
        """Take span updates from `trace` whenever `listener` runs (live sessions)."""
        self._trace = trace

    def listener(self, row: dict, turn: Any = None, decision: Any = None, out: Any = None) -> None:
        """A Session listener: append the row; refresh spans from the watched trace."""
        self.append(row)
        if self._trace is not None:
            self.set_spans(list(self._trace.spans))

    def select(self, seq: int) -> None:
        """Highlight micro-turn `seq` in the view (as a click would, without callbacks)."""
        self.send({"type": "select", "seq": int(seq)})

    def on_select(self, fn: Callable[[int], None]) -> None:
        """Call `fn(seq)` when the user clicks a micro-turn."""
        self._on_select.append(fn)

    def bench(self, frames: int = 300) -> None:
        """Ask the browser to redraw `frames` times while panning/zooming; see `perf`."""
        self.send({"type": "bench", "frames": int(frames)})

    # -- messages -------------------------------------------------------------------------------
    def _send_rows(self, rows: list[dict]) -> None:
        for i in range(0, len(rows), _SNAPSHOT_ROWS):
            meta, bufs = encode_rows(rows[i : i + _SNAPSHOT_ROWS])
            self.send(meta, buffers=bufs)

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ready":
            with self._lock:
                self.ready = True
                self._send_rows(self.rows)  # a snapshot for this view; other views ignore dups
                self.send({"type": "spans", "spans": self._spans})
        elif kind == "select":
            try:
                seq = int(content["seq"])
            except (KeyError, TypeError, ValueError):
                return
            for fn in self._on_select:
                try:
                    fn(seq)
                except Exception:
                    log.exception("timeline select callback failed")
        elif kind == "perf":
            self.perf = {k: content.get(k) for k in ("tag", "n", "p50", "p95", "max", "drawn")}
            self.perf_reports.append(self.perf)


_KEEP = ("seq", "t", "level_db", "action", "probs", "speaking", "user_text", "text", "step_ms")
# what the timeline draws from `info`: user speech, and the notes of `user_note`
_INFO_KEEP = ("vad", "user_speech", "heard_instruction", "cue_heard")


def _compact(row: dict) -> dict:
    out = {k: row[k] for k in _KEEP if k in row}
    if "seq" not in out:
        raise ValueError("a timeline row needs a 'seq'")
    out["seq"] = int(out["seq"])
    out["flags"] = tuple(row.get("flags") or ())
    info = row.get("info") or {}
    out["info"] = {k: info[k] for k in _INFO_KEEP if k in info}
    return out
