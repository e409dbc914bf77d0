"""SpeakerWidget: play the model's voice in the browser and learn what was actually audible.

The kernel sends each non-silent output chunk as `{type: "pcm", seq, rate}` + `[int16 bytes]`;
the browser schedules it with Web Audio right after the previous one, and a `stop` message
cuts everything at once (a yield / barge-in). For every contiguous run of played chunks the
browser answers `{type: "span", start_seq, end_seq, start, end, cut}`; each becomes a
"playback" span (stream seconds of the chunks, plus the browser wall times) given to
`on_span` callbacks, e.g. `Trace.add_span`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from nbduplex.decision import Action, Decision
from nbduplex.microturn import MICROTURN_S, SAMPLE_RATE, MicroTurn
from nbduplex.widgets._assets import asset

log = logging.getLogger(__name__)

SpanCallback = Callable[[dict[str, Any]], None]


class SpeakerWidget(anywidget.AnyWidget):
    """Plays model PCM chunks in the browser; `spans` lists what was played (and cut)."""

    _esm = asset("speaker.js")

    volume = t.Float(1.0).tag(sync=True)  # linear gain in the browser, 0..1

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spans: list[dict[str, Any]] = []
        self.sent = 0  # chunks sent to the browser
        self.ready = False  # a front end has rendered
        self._on_span: list[SpanCallback] = []
        self.on_msg(self._on_custom_msg)

    def play(self, seq: int, pcm: np.ndarray, rate: int = SAMPLE_RATE) -> None:
        """Send one chunk of int16 mono audio (output chunk `seq`) to be played."""
        a = np.asarray(pcm)
        if a.ndim != 1 or a.dtype.kind not in "iuf":
            raise ValueError(f"pcm must be 1-D numeric audio, got {a.dtype} {a.shape}")
        if a.dtype != np.int16:
            a = np.clip(np.round(a * 32767.0), -32768, 32767).astype(np.int16)
        self.send({"type": "pcm", "seq": int(seq), "rate": int(rate)}, buffers=[a.tobytes()])
        self.sent += 1

    def stop(self) -> None:
        """Cut the model's voice in the browser now."""
        self.send({"type": "stop"})

    def on_span(self, fn: SpanCallback) -> None:
        """Call `fn(span)` for every playback span the browser reports."""
        self._on_span.append(fn)

    def listener(self, row: dict, turn: MicroTurn, decision: Decision, out: np.ndarray) -> None:
        """A Session listener: play non-silent output chunks, cut on a yield."""
        if decision.action is Action.YIELD:
            self.stop()
        if out is not None and np.any(out):
            self.play(turn.seq, out)

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "ready":
            self.ready = True
        elif content.get("type") == "span":
            try:
                span = playback_span(content)
            except (KeyError, TypeError, ValueError) as e:
                log.warning("ignored a malformed playback span: %s", e)
                return
            self.spans.append(span)
            for fn in self._on_span:
                try:
                    fn(span)
                except Exception:  # e.g. the trace was closed already
                    log.exception("playback span callback failed")


def playback_span(msg: dict) -> dict[str, Any]:
    """A browser span message -> {start, end (stream s), start_seq, end_seq, wall_*, cut}."""
    s0, s1 = int(msg["start_seq"]), int(msg["end_seq"])
    if s0 < 0 or s1 < s0:
        raise ValueError(f"bad playback seqs {s0}..{s1}")
    w0, w1 = float(msg["start"]) / 1000.0, float(msg["end"]) / 1000.0
    cut = bool(msg.get("cut", False))
    start = s0 * MICROTURN_S
    end = (s1 + 1) * MICROTURN_S
    if cut:  # what was audible before the cut, in stream time
        end = min(end, start + max(0.0, w1 - w0))
    return {
        "start": start,
        "end": end,
        "start_seq": s0,
        "end_seq": s1,
        "wall_start": w0,
        "wall_end": w1,
        "cut": cut,
    }


def trace_span_writer(trace: Any) -> SpanCallback:
    """An `on_span` callback recording playback spans as "playback" spans in `trace`."""

    def write(span: dict[str, Any]) -> None:
        data = {k: v for k, v in span.items() if k not in ("start", "end")}
        label = "cut" if span["cut"] else "played"
        trace.add_span("playback", span["start"], span["end"], track="speaker", label=label, **data)

    return write
