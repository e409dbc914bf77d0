"""Reassemble live, unreliable chunk arrivals (the browser) into an ordered micro-turn stream.

Chunks carry their sequence number; they may arrive out of order, twice, late or never.
`ChunkAssembler.push` only timestamps and stores (cheap enough for a comm handler thread);
`pop_ready` (the consumer thread) converts and emits micro-turns strictly in seq order:

- the next chunk present -> emitted (flagged `out_of_order` if it arrived after a later one);
- the next chunk absent while later ones are here: once the earliest of those has waited
  `max_wait` seconds, the gap is emitted as zeros flagged `missing` (nothing is dropped);
- a chunk whose slot was already emitted as missing is counted `late` and not re-emitted
  (its typed text, if any, is carried into the next emitted micro-turn so no words are lost);
- a second copy of a chunk is counted `duplicate` and ignored.

Invariant (tested): received == emitted - missing + late + duplicate + rejected + pending.
`QueueSource` wraps an assembler as a live `Source` that blocks for turns until `end()`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from nbduplex.microturn import (
    CHUNK_SAMPLES,
    MICROTURN_S,
    SAMPLE_RATE,
    Flag,
    MicroTurn,
    TextEvent,
    conform_audio,
)

log = logging.getLogger(__name__)

_STATS = ("received", "emitted", "missing", "late", "duplicate", "out_of_order", "rejected")
_EXTRA_STATS = ("bad_frames", "bad_audio")  # undecodable images dropped; unusable audio


@dataclass(slots=True)
class _Pending:
    audio: np.ndarray | None  # raw samples as pushed
    rate: int  # Hz
    frames: tuple[np.ndarray, ...]
    text: tuple[TextEvent, ...]
    wall: float  # capture wall-clock sent with the chunk
    arrived: float  # assembler clock at arrival
    flags: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Slot:
    """A micro-turn claimed for emission: its chunk, or None when missing."""

    seq: int
    pending: _Pending | None
    carried: tuple[TextEvent, ...]  # text of late chunks, delivered here
    wall: float


def _as_image(f: np.ndarray | bytes | bytearray | memoryview) -> np.ndarray | None:
    """An RGB uint8 (H, W, 3) frame from an array or encoded image bytes (JPEG/PNG); None if bad."""
    if isinstance(f, bytes | bytearray | memoryview):
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(bytes(f))) as im:
                return np.asarray(im.convert("RGB"))
        except Exception:  # Pillow raises several types for broken images
            return None
    a = np.asarray(f)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        return None
    return a


class ChunkAssembler:
    """Orders pushed chunks into MicroTurns; thread-safe (one pusher, one consumer, or more).

    `max_wait`: seconds a gap may stay open after a later chunk arrived before it is emitted
    as missing. `max_jump`: a chunk more than this many micro-turns ahead of everything seen
    is rejected (a restarted or corrupt sender), so that one bad number cannot emit hours of
    zeros. `clock`: monotonic seconds (a fake one in tests).
    """

    def __init__(
        self,
        *,
        max_wait: float = 0.4,  # seconds
        rate: int = SAMPLE_RATE,  # Hz, default rate of pushed audio
        max_jump: int = 3000,  # micro-turns (10 minutes)
        start_seq: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not max_wait >= 0:
            raise ValueError(f"max_wait must be >= 0 seconds, got {max_wait}")
        self.max_wait, self.rate, self.max_jump, self.clock = max_wait, rate, max_jump, clock
        self.cond = threading.Condition()
        self._next = start_seq
        self._buf: dict[int, _Pending] = {}
        self._missing_seqs: set[int] = set()
        self._max_seen = start_seq - 1
        self._carry: list[TextEvent] = []
        self._ended = False
        self._end_seq: int | None = None
        self._stats = dict.fromkeys(_STATS + _EXTRA_STATS, 0)

    # -- producer side -------------------------------------------------------------------
    def push(
        self,
        seq: int,
        audio: np.ndarray | None,
        rate: int | None = None,
        frames: Iterable[np.ndarray] = (),
        text: Iterable[TextEvent | str] = (),
        wall: float = math.nan,
        *,
        now: float | None = None,
    ) -> str:
        """Store one chunk; return 'accepted', 'duplicate', 'late' or 'rejected'.

        `frames` are (H, W, 3) uint8 arrays or encoded images (JPEG/PNG bytes, decoded later
        in the consumer thread). `wall` is the capture wall-clock of the chunk's end.
        """
        if isinstance(seq, bool) or not isinstance(seq, int | np.integer):
            raise TypeError(f"seq must be an int, got {type(seq).__name__}")
        seq = int(seq)
        events = tuple(e if isinstance(e, TextEvent) else TextEvent("user", str(e)) for e in text)
        if isinstance(frames, np.ndarray | bytes | bytearray | memoryview):
            frames = (frames,)  # one frame given bare
        with self.cond:
            arrived = self.clock() if now is None else now
            self._stats["received"] += 1
            status = self._classify(seq)
            if status == "late":
                self._carry.extend(events)
            elif status == "accepted":
                p = _Pending(audio, rate or self.rate, tuple(frames), events, wall, arrived)
                if seq < self._max_seen:
                    p.flags.add(Flag.OUT_OF_ORDER)
                    self._stats["out_of_order"] += 1
                self._max_seen = max(self._max_seen, seq)
                self._buf[seq] = p
            if status != "accepted":
                self._stats[status] += 1
            self.cond.notify_all()
            return status

    def _classify(self, seq: int) -> str:
        if seq < self._next:
            return "late" if seq in self._missing_seqs else "duplicate"
        if seq in self._buf:
            return "duplicate"
        if self._ended or seq > max(self._next, self._max_seen) + self.max_jump:
            return "rejected"
        return "accepted"

    def close(self) -> None:
        """Same as `end()`: no more chunks will come."""
        self.end()

    @property
    def closed(self) -> bool:
        """True once `end()`/`close()` was called."""
        with self.cond:
            return self._ended

    def end(self, last_seq: int | None = None) -> None:
        """The stream is over: flush what is buffered (gaps -> missing, up to `last_seq` if
        given) without waiting, then `finished` becomes true."""
        with self.cond:
            self._ended = True
            if last_seq is not None:
                self._end_seq = int(last_seq)
            self.cond.notify_all()

    # -- consumer side -------------------------------------------------------------------
    def pop_ready(self, now: float | None = None) -> list[MicroTurn]:
        """All micro-turns that can be emitted now, in seq order (possibly none)."""
        with self.cond:
            taken = self._take_locked(self.clock() if now is None else now)
        return self._build(taken)

    def _take_locked(self, now: float) -> list[_Slot]:
        """Claim the slots that can be emitted now (cheap; the lock is held)."""
        out: list[_Slot] = []
        while True:
            if self._end_seq is not None and self._next > self._end_seq:
                break
            if self._next in self._buf:
                out.append(self._claim(self._buf.pop(self._next)))
                continue
            overdue = bool(self._buf) and (
                self._ended or now - min(p.arrived for p in self._buf.values()) >= self.max_wait
            )
            if overdue or (self._ended and self._end_seq is not None):
                out.append(self._claim(None))
                continue
            break
        return out

    def _claim(self, p: _Pending | None) -> _Slot:
        seq = self._next
        self._next += 1
        self._stats["emitted"] += 1
        carried = tuple(self._carry)
        self._carry.clear()
        if p is None:
            self._stats["missing"] += 1
            self._missing_seqs.add(seq)
            return _Slot(seq, None, carried, self._guess_wall(seq))
        return _Slot(seq, p, carried, p.wall)

    def _build(self, slots: list[_Slot]) -> list[MicroTurn]:
        """Convert claimed slots to MicroTurns (audio conform, image decode) without the lock."""
        turns = []
        bad_frames = bad_audio = 0
        for s in slots:
            if s.pending is None:
                audio, flags = conform_audio(None)
                turns.append(MicroTurn(s.seq, audio, (), s.carried, s.wall, flags))
                continue
            p = s.pending
            try:
                audio, flags = conform_audio(p.audio, p.rate)
            except (TypeError, ValueError):  # unusable samples: the slot's audio is missing
                audio, flags = np.zeros(CHUNK_SAMPLES, np.int16), frozenset({Flag.MISSING})
                bad_audio += 1
            frames = []
            for f in p.frames:
                img = _as_image(f)
                if img is None:
                    bad_frames += 1
                else:
                    frames.append(img)
            turns.append(
                MicroTurn(s.seq, audio, tuple(frames), s.carried + p.text, s.wall, flags | p.flags)
            )
        if bad_frames or bad_audio:
            with self.cond:
                self._stats["bad_frames"] += bad_frames
                self._stats["bad_audio"] += bad_audio
        return turns

    def _guess_wall(self, seq: int) -> float:
        later = [s for s, p in self._buf.items() if math.isfinite(p.wall)]
        if not later:
            return math.nan
        s = min(later)
        return self._buf[s].wall - (s - seq) * MICROTURN_S

    def next_deadline(self) -> float | None:
        """Clock time at which a gap will be emitted as missing (None: nothing is waiting)."""
        with self.cond:
            if not self._buf or self._next in self._buf:
                return None
            return min(p.arrived for p in self._buf.values()) + self.max_wait

    def __iter__(self) -> Iterator[MicroTurn]:
        """Blocking iteration until `end()`; see `QueueSource`."""
        return iter(QueueSource(self))

    @property
    def finished(self) -> bool:
        """Ended and everything emitted."""
        with self.cond:
            return self._finished_locked()

    def _finished_locked(self) -> bool:
        if not self._ended or self._buf:
            return False
        return self._end_seq is None or self._next > self._end_seq

    @property
    def next_seq(self) -> int:
        """The seq the next emitted micro-turn will have."""
        with self.cond:
            return self._next

    @property
    def stats(self) -> dict[str, int]:
        """Counters: received emitted missing late duplicate out_of_order rejected pending."""
        with self.cond:
            return {**self._stats, "pending": len(self._buf)}


class QueueSource:
    """A live `Source` fed by a `ChunkAssembler`: iteration blocks until turns are ready and
    ends when the assembler ends (`close()` ends it) and everything was emitted.

    A live capture sends a chunk every 200 ms even in silence, so `idle_timeout` seconds
    without any new turn mean the sender is gone (a closed tab, a dead front end): the stream
    then ends by itself instead of blocking the session forever (`timed_out` is set). The idle
    clock starts with the first turn, so a slow permission prompt does not end the stream.
    """

    live = True
    duration: float | None = None

    def __init__(
        self,
        assembler: ChunkAssembler | None = None,
        *,
        poll: float = 0.05,
        idle_timeout: float | None = 30.0,
    ) -> None:
        self.assembler = assembler if assembler is not None else ChunkAssembler()
        self.poll = poll  # seconds, longest single wait (the clock may be a fake one)
        self.idle_timeout = idle_timeout  # seconds without a new turn before the stream ends
        self.timed_out = False

    def push(self, *args, **kw) -> str:
        """Shortcut for `self.assembler.push`."""
        return self.assembler.push(*args, **kw)

    def __iter__(self) -> Iterator[MicroTurn]:
        a = self.assembler
        last: float | None = None  # the idle clock starts with the first turn (after permission)
        while True:
            with a.cond:
                now = a.clock()
                slots = a._take_locked(now)
                if not slots:
                    if a._finished_locked():
                        return
                    idle = self.idle_timeout is not None and last is not None
                    if idle and now - last > self.idle_timeout:
                        self.timed_out = True
                        log.warning("no chunk for %.0f s: ending the live stream", now - last)
                        a._ended = True  # later pushes are rejected (we hold its lock)
                        return
                    a.cond.wait(timeout=self.poll)
                    continue
            last = a.clock()
            yield from a._build(slots)

    def close(self) -> None:
        """End the stream: buffered chunks are flushed, then iteration stops."""
        self.assembler.end()
