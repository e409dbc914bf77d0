"""The background agent's spans: kept with agent-local ids, mirrored into a session's trace.

Every task is an "agent_task" span on track `task-<id>`, and every tool call a "tool_call" span
on the same track with `parent` = the task span. The agent keeps its own list (`spans`, ids
are list positions) whether or not a trace is attached; an attached trace gets each span as it
opens and closes, with the trace's own ids (a `parent` is translated). A closed or broken trace
is logged and never stops the conversation.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

_HEAD = ("id", "kind", "start", "end", "track", "label")  # passed to the trace positionally


class SpanRecorder:
    """Open and close spans; `lock` is shared with the agent (tasks open spans from its loop)."""

    def __init__(self, lock: threading.RLock | None = None) -> None:
        self._lock = lock if lock is not None else threading.RLock()
        self.spans: list[dict[str, Any]] = []  # every span, with agent-local ids
        self.trace: Any | None = None
        self._trace_ids: dict[int, int] = {}  # local span id -> trace span id

    def attach(self, trace: Any | None) -> None:
        """Mirror spans opened from now on into `trace` (None: keep them local only)."""
        with self._lock:
            self.trace = trace
            self._trace_ids.clear()

    def open(self, kind: str, start: float, track: str, label: str, **data: Any) -> int:
        """Open a span; returns its local id (`parent` in `data` is a local id too)."""
        with self._lock:
            local = len(self.spans)
            span = {"id": local, "kind": kind, "start": start, "end": None, "track": track}
            span |= {"label": label, **data}
            self.spans.append(span)
            if self.trace is not None:
                extra = {k: v for k, v in span.items() if k not in _HEAD}
                if "parent" in extra:  # the trace numbers spans its own way
                    extra["parent"] = self._trace_ids.get(extra["parent"])
                try:
                    trace_id = self.trace.add_span(kind, start, track=track, label=label, **extra)
                    self._trace_ids[local] = trace_id
                except Exception:  # a closed or broken trace must not stop the conversation
                    log.exception("could not add an agent span to the trace")
            return local

    def close(self, local: int, end: float, **data: Any) -> None:
        """Close span `local` at `end` (never before its start) with extra fields."""
        with self._lock:
            span = self.spans[local]
            span["end"] = max(end, span["start"])
            span.update(data)
            if self.trace is not None and local in self._trace_ids:
                try:
                    self.trace.end_span(self._trace_ids[local], span["end"], **data)
                except Exception:  # as above
                    log.exception("could not end an agent span in the trace")
