"""CaptureWidget: stream the browser's microphone and camera into the kernel, 200 ms at a time.

The front end (widgets/capture.js) sends one custom message with binary buffers per 3200-sample
chunk: `{type: "chunk", seq, t0, t1, level, audio, frame}` + `[pcm int16, jpeg?]`. The handler
here only timestamps the message and pushes it into a `ChunkAssembler`; JPEG decoding, padding,
flagging and everything else happens in the thread that iterates `capture.source()` (the session
loop). Chunks are never synced traits: ipywidgets coalesces state updates and would lose them.

Timing: `MicroTurn.wall` of a captured chunk is the browser's wall clock when its last sample was
captured (the chunk boundary), so `time.time() - turn.wall` after a decision is the latency past
the boundary. If the browser's clock is far from the kernel's (a remote browser), the kernel's
receive time is used instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from nbduplex.microturn import SAMPLE_RATE
from nbduplex.sources.base import SourceError
from nbduplex.widgets._assets import asset

log = logging.getLogger(__name__)

FAILED_STATES = ("denied", "no_device", "error")
_MAX_SKEW_S = 5.0  # browser/kernel clock difference beyond which the receive time is used


class CaptureError(SourceError):
    """Capture could not start or failed: permission denied, no device, or a browser error."""


class CaptureWidget(anywidget.AnyWidget):
    """Start/Stop capture in the browser; a live `Source` of micro-turns for the session loop.

    `state` is "idle", "requesting", "live", "stopped", "denied", "no_device" or "error" (then
    `error` says why). `received` counts chunks that reached the handler, `dropped` the
    micro-turns the model got as zeros (never arrived, or too late for the assembler), `late`
    the chunks that reached the handler more than `late_after` seconds after their end (e.g.
    while the kernel was busy; they are still used unless the assembler gave up on them).
    """

    _esm = asset("capture.js")

    mode = t.Enum(("audio", "video", "both"), default_value="both").tag(sync=True)
    echo_cancellation = t.Bool(True).tag(sync=True)  # on with speakers, off for tests
    audio_device = t.Unicode("").tag(sync=True)  # deviceId, "" = default
    video_device = t.Unicode("").tag(sync=True)  # deviceId, "" = default
    devices = t.List(t.Dict()).tag(sync=True)  # [{kind, id, label}] reported by the browser
    frame_width = t.Int(160, min=16, max=1920).tag(sync=True)  # px of the JPEG frame
    frame_height = t.Int(120, min=16, max=1080).tag(sync=True)  # px of the JPEG frame
    frame_every = t.Int(1, min=1).tag(sync=True)  # one frame every N chunks (1 = 5 frames/s)
    jpeg_quality = t.Float(0.7, min=0.05, max=1.0).tag(sync=True)  # JPEG quality 0..1
    state = t.Unicode("idle").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    received = t.Int(0).tag(sync=True)
    dropped = t.Int(0).tag(sync=True)
    late = t.Int(0).tag(sync=True)

    def __init__(self, *, late_after: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.late_after = late_after  # seconds after a chunk's end before it counts as late
        self._lock = threading.Lock()
        self._assembler = _new_assembler()
        self._expected = 0  # next seq the handler expects
        self._bad = 0  # malformed messages ignored
        self._gaps = 0  # seqs skipped by the browser stream as seen by the handler
        self.arrivals: deque[tuple[int, float, float]] = deque(maxlen=20_000)  # (seq, end, recv)
        self._on_start: list[Callable[[CaptureWidget], None]] = []
        self._on_stop: list[Callable[[CaptureWidget], None]] = []
        self._live = threading.Event()
        self.on_msg(self._on_custom_msg)
        self.observe(self._on_state, names="state")

    # -- public API -------------------------------------------------------------------------------
    @property
    def assembler(self) -> Any:
        """The ChunkAssembler that the handler feeds (a new one for every Start)."""
        return self._assembler

    def source(self) -> Any:
        """A live Source over the current capture (`QueueSource(self.assembler)`)."""
        self.raise_for_state()
        from nbduplex.sources.assembler import QueueSource

        return QueueSource(self._assembler)

    def on_start(self, fn: Callable[[CaptureWidget], None]) -> None:
        """Call `fn(widget)` when the browser starts streaming (after a fresh assembler exists)."""
        self._on_start.append(fn)

    def on_stop(self, fn: Callable[[CaptureWidget], None]) -> None:
        """Call `fn(widget)` when the browser stops streaming (the source then ends)."""
        self._on_stop.append(fn)

    def stop(self) -> None:
        """Ask the browser to stop capturing (as if Stop was pressed)."""
        self.send({"type": "stop"})

    def raise_for_state(self) -> None:
        """Raise CaptureError if the browser reported a denied permission, no device or an error."""
        if self.state in FAILED_STATES:
            what = {"denied": "permission denied", "no_device": "no device"}.get(
                self.state, "error"
            )
            raise CaptureError(f"capture failed ({what}): {self.error}")

    def wait_live(self, timeout: float = 30.0) -> None:
        """Block until capture is live; raise CaptureError on failure or timeout.

        Only useful where comm messages reach the kernel while a cell runs (JupyterLab >= 4.4
        with ipykernel >= 7) or from another thread.
        """
        deadline = time.monotonic() + timeout
        while not self._live.wait(0.05):
            self.raise_for_state()
            if time.monotonic() > deadline:
                raise CaptureError(f"capture not live after {timeout:.0f} s (state {self.state!r})")

    @property
    def stats(self) -> dict[str, Any]:
        """Counts and arrival timing of the current capture."""
        arr = list(self.arrivals)
        delays = np.array([recv - end for _, end, recv in arr]) * 1000.0
        return {
            "state": self.state,
            "received": self.received,
            "dropped": self.dropped,
            "late": self.late,
            "bad": self._bad,
            "gaps": self._gaps,
            "assembler": dict(self._assembler.stats),
            "last_seq": arr[-1][0] if arr else -1,
            "delay_ms_p50": float(np.percentile(delays, 50)) if arr else None,
            "delay_ms_p95": float(np.percentile(delays, 95)) if arr else None,
        }

    # -- message handling (kernel shell or subshell thread: timestamp + enqueue only) -----------
    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        recv = time.time()
        if not isinstance(content, dict):
            self._bad += 1
            return
        kind = content.get("type")
        if kind == "chunk":
            self._handle_chunk(content, buffers or [], recv)
        elif kind == "start":
            self._handle_start()
        elif kind == "stop":
            self._handle_stop()
        else:
            self._bad += 1

    def _handle_chunk(self, meta: dict, buffers: list[Any], recv: float) -> None:
        try:
            seq = int(meta["seq"])
            if seq < 0:
                raise ValueError(f"negative seq {seq}")
            end = float(meta.get("t1", recv * 1000.0)) / 1000.0
            bufs = list(buffers)
            audio = None
            if meta.get("audio", True):
                raw = bufs.pop(0)
                audio = np.frombuffer(bytes(raw), dtype=np.int16)  # copies out of the zmq frame
            jpeg = bytes(bufs.pop(0)) if meta.get("frame") is not None and bufs else None
        except (KeyError, IndexError, TypeError, ValueError) as e:
            self._bad += 1
            log.warning("ignored a malformed capture chunk: %s", e)
            return
        wall = end if abs(recv - end) < _MAX_SKEW_S else recv
        with self._lock:
            assembler = self._assembler
            if seq > self._expected:
                self._gaps += seq - self._expected
            self._expected = max(self._expected, seq + 1)
            if recv - wall > self.late_after:
                self.late += 1
            self.arrivals.append((seq, wall, recv))
        assembler.push(seq, audio, SAMPLE_RATE, frames=(jpeg,) if jpeg else (), wall=wall)
        n = len(self.arrivals)
        if n % 5 == 0 or n < 5:
            self._publish_counts()

    def _publish_counts(self) -> None:
        self.received = len(self.arrivals)
        self.dropped = max(self._gaps, int(self._assembler.stats.get("missing", 0)))

    def _handle_start(self) -> None:
        with self._lock:
            if self._expected or getattr(self._assembler, "closed", False):
                self._assembler = _new_assembler()
            self._expected = self._gaps = 0
            self.arrivals.clear()
            self.received = self.dropped = self.late = 0
        self._live.set()
        for fn in self._on_start:
            _call(fn, self)

    def _handle_stop(self) -> None:
        self._publish_counts()
        self._live.clear()
        self._assembler.close()
        for fn in self._on_stop:
            _call(fn, self)

    def _on_state(self, change: dict) -> None:
        if change["new"] in FAILED_STATES:
            self._live.clear()
            log.warning("capture %s: %s", change["new"], self.error)


def _new_assembler() -> Any:
    from nbduplex.sources.assembler import ChunkAssembler

    return ChunkAssembler()


def _call(fn: Callable[[CaptureWidget], None], widget: CaptureWidget) -> None:
    try:
        fn(widget)
    except Exception:  # a broken callback must not break capture
        log.exception("capture callback failed")
