"""Real-time replay: release micro-turns no faster than a live capture would deliver them.

A live capture can hand over micro-turn k only when its 200 ms are over, so `paced` yields
turn k no earlier than (k - k0 + 1) x 0.2 s / speed after the start (k0: the first seq seen).
If the consumer falls behind it never sleeps and never drops a turn; it simply catches up.
Each yielded turn's `wall` is set to the wall-clock time it was released, so latencies
measured against `wall` mean the same as for a live capture.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator

from nbduplex.microturn import MICROTURN_S, MicroTurn


def paced(
    turns: Iterable[MicroTurn],
    *,
    speed: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    wall: Callable[[], float] = time.time,
) -> Iterator[MicroTurn]:
    """Yield `turns` in stream time: speed 1.0 is real time, 2.0 twice as fast, inf unpaced."""
    if not (speed > 0):
        raise ValueError(f"speed must be > 0 (math.inf for no pacing), got {speed}")
    start: float | None = None
    first = 0
    for turn in turns:
        if start is None:
            start, first = clock(), turn.seq
        if math.isfinite(speed):
            due = start + (turn.seq - first + 1) * MICROTURN_S / speed
            while (delay := due - clock()) > 0:
                sleep(delay)
        yield turn.with_(wall=wall())
