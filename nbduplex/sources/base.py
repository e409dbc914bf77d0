"""The Source interface: anything that yields MicroTurns in order, from seq 0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from nbduplex.microturn import MicroTurn


class SourceError(RuntimeError):
    """A source cannot be opened or read (missing, broken or unsupported file, denied camera)."""


@runtime_checkable
class Source(Protocol):
    """Yields consecutive MicroTurns (seq 0, 1, 2, ...) until the input ends.

    `duration` is the length in seconds when known (files, scenarios), else None (live).
    `live` sources are paced by the outside world; the loop paces others itself when asked.
    """

    duration: float | None
    live: bool

    def __iter__(self) -> Iterator[MicroTurn]: ...

    def close(self) -> None: ...
