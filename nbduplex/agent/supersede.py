"""When a newly delegated task repeats an earlier one, or replaces ones still running.

A new task repeats (`repeat_of`) a running task with the same text and topic, and a spoken
request (audio to transcribe) repeats the previous spoken one submitted within
`SAME_SPOKEN_REQUEST_S`, finished or not: a policy may delegate on several micro-turns, and the
user cannot have said a new request in that time. A repeat starts nothing.
A new task replaces a running one when it is a correction ("no, I meant ...": the latest task),
has the same explicit `topic`, or updates a similar request of the same implicit topic (the
tool the rules pick, e.g. "17 times 23" -> "17 times 24"); tasks of a parallel topic (timers)
run side by side.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from nbduplex.agent.task import AgentTask

PARALLEL_TOPICS = frozenset({"timer"})  # implicit topics whose tasks never replace others
SIMILARITY = 0.5  # word overlap (Jaccard) above which a same-topic task is an update
SAME_SPOKEN_REQUEST_S = 0.5  # a spoken request this soon after the last one is the same request

_CORRECTION = re.compile(
    r"^\s*(?:no\b|nope\b|sorry\b|actually\b|wait\b|correction\b|i\s+meant\b|make\s+(?:it|that)\b"
    r"|instead\b|scratch\s+that\b|never\s*mind\b)",
    re.I,
)


def repeat_of(
    text: str,
    topic: str,
    at: float,
    spoken: bool,
    running: Collection[AgentTask],
    last_spoken: AgentTask | None,
) -> AgentTask | None:
    """The earlier task a new one (`text`, `topic`, submitted at stream time `at`; `spoken`: audio
    to transcribe, no text) repeats, or None. A correction is never a repeat."""
    if spoken and last_spoken is not None and 0 <= at - last_spoken.at <= SAME_SPOKEN_REQUEST_S:
        return last_spoken
    if is_correction(text):
        return None
    return next((o for o in running if o.text.lower() == text.lower() and o.topic == topic), None)


def is_correction(text: str) -> bool:
    """Whether `text` opens like a correction of the previous request ("no, I meant ...")."""
    return bool(_CORRECTION.match(text))


def supersedes(
    new: AgentTask,
    old: AgentTask,
    parallel_topics: Collection[str] = PARALLEL_TOPICS,
    similarity: float = SIMILARITY,
) -> bool:
    """Whether `new` replaces the running task `old` on topic grounds (see the module docstring;
    corrections are the caller's: they replace the latest task whatever its topic)."""
    if new.topic != old.topic:
        return False
    if new.explicit_topic or old.explicit_topic:
        return new.explicit_topic and old.explicit_topic
    if new.topic in parallel_topics:
        return False
    a, b = set(new.text.lower().split()), set(old.text.lower().split())
    return len(a & b) / max(len(a | b), 1) >= similarity
