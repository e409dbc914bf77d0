"""A delegated task, its finished record, and the conversation context handed to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from nbduplex.microturn import TextEvent

_CONTEXT_EVENTS = 40  # text events of the conversation handed to a task
_CONTEXT_ROWS = 3000  # trace rows scanned for them (10 minutes)


class HistoryEntry(NamedTuple):
    """A finished task: `status` is ok / error / timeout / declined / unrouted /
    cancelled."""

    task: str
    result: str
    status: str
    started: float  # stream seconds
    ended: float  # stream seconds


@dataclass(eq=False)
class AgentTask:
    """A submitted task and its state (`status` "running" until it finishes)."""

    id: int
    text: str
    at: float  # stream seconds at submit
    wall0: float  # time.monotonic() at submit
    topic: str
    context: tuple[TextEvent, ...]
    explicit_topic: bool = False  # the caller named the topic
    span: int = -1  # id in BackgroundAgent.spans
    status: str = "running"
    result: str = ""
    ended: float | None = None
    reason: str = ""  # why it was cancelled
    handle: asyncio.Task | None = field(default=None, repr=False)
    audio: np.ndarray | None = field(default=None, repr=False)  # a spoken request, 16 kHz
    say_unrouted: bool = False  # post the "I can't do that" even of a spoken request
    settled: bool = False  # its coroutine has exited (or will never start): spans are final

    def now(self) -> float:
        """Stream time now, as seen by this task."""
        return self.at + (time.monotonic() - self.wall0)


def context_from_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[TextEvent, ...]:
    """The last text events of a trace's rows (user text, the model's words, agent results)."""
    events: list[TextEvent] = []
    for row in rows[-_CONTEXT_ROWS:]:
        for item in row.get("text_in") or ():
            role, text = item[0], item[1]
            if text:
                events.append(TextEvent(str(role), str(text)))
    return tuple(events[-_CONTEXT_EVENTS:])
