"""AgentTraceWidget: a live Gantt of the background agent's tasks and tool calls.

Spans ("agent_task", "tool_call") are few, so they travel as one small JSON message, sent only
when something changed and re-sent whenever a new view says "ready".
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import anywidget

from nbduplex.widgets._assets import asset

AGENT_KINDS = ("agent_task", "tool_call")


def agent_spans(spans: Iterable[dict]) -> list[dict]:
    """The agent spans of a trace as the small dicts the Gantt draws."""
    out = []
    for s in spans:
        if s.get("kind") not in AGENT_KINDS:
            continue
        end = s.get("end")
        item = {
            "id": s.get("id"),
            "kind": s["kind"],
            "start": float(s["start"]),
            "end": None if end is None else float(end),
            "label": str(s.get("label", ""))[:120],
            "track": str(s.get("track", "")),
        }
        if s.get("error"):
            item["error"] = str(s["error"])[:200]
        out.append(item)
    return out


class AgentTraceWidget(anywidget.AnyWidget):
    """`update(spans, now)` with trace spans; running spans (end None) grow to `now`."""

    _esm = asset("agent_trace.js")

    def __init__(self, trace: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trace = trace
        self.spans: list[dict] = []
        self.now = 0.0
        self._key: tuple = ()
        self._lock = threading.Lock()
        self.on_msg(self._on_custom_msg)

    def update(self, spans: Iterable[dict], now: float | None = None) -> bool:
        """Show these spans; returns True if a message was sent (something changed)."""
        items = agent_spans(spans)
        running = any(s["end"] is None for s in items)
        key = tuple((s["id"], s["start"], s["end"], s["label"]) for s in items)
        with self._lock:
            if now is not None:
                self.now = float(now)
            if key == self._key and not running:
                return False
            self._key, self.spans = key, items
            self.send({"type": "spans", "spans": items, "now": self.now})
        return True

    def listener(self, row: dict, turn: Any = None, decision: Any = None, out: Any = None) -> None:
        """A Session listener: refresh from the watched trace at the end of this micro-turn."""
        if self.trace is not None:
            self.update(self.trace.spans, float(row.get("t", 0.0)) + 0.2)

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("type") == "ready":
            with self._lock:
                self.send({"type": "spans", "spans": self.spans, "now": self.now})
