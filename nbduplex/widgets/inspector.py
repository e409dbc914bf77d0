"""InspectorWidget: one micro-turn's inputs (frame, dMel image, text) and its decision.

`show(trace, seq)` reads the micro-turn back from a Trace (audio, frames), computes its dMel
codes (nbduplex.features) and sends them with the first frame as JPEG in one message with
binary buffers. The current micro-turn is re-sent whenever a new view says "ready".
"""

from __future__ import annotations

import io
import threading
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from nbduplex.widgets._assets import asset


def jpeg_bytes(frame: np.ndarray, quality: int = 85) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG bytes."""
    from PIL import Image

    a = np.asarray(frame)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"a frame must be (H, W, 3) uint8, got {a.dtype} {a.shape}")
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def inspect_message(row: dict, audio: np.ndarray, frames: list[np.ndarray]) -> tuple[dict, list]:
    """A trace row + its input audio (3200,) int16 + frames -> the "show" message and buffers."""
    from nbduplex.features import dmel_codes

    codes = np.ascontiguousarray(dmel_codes(np.asarray(audio, np.int16)), np.uint8)  # (T, 80)
    bufs: list[bytes] = [codes.tobytes()]
    if frames:
        bufs.append(jpeg_bytes(frames[0]))
    meta = {
        "type": "show",
        "seq": int(row["seq"]),
        "t": float(row.get("t", row["seq"] * 0.2)),
        "action": str(row.get("action", "listen")),
        "probs": {k: float(v) for k, v in (row.get("probs") or {}).items()},
        "attribution": {k: float(v) for k, v in (row.get("attribution") or {}).items()},
        "user_text": str(row.get("user_text") or ""),
        "text": str(row.get("text") or ""),
        "level_db": float(row.get("level_db", -100.0)),
        "step_ms": float(row.get("step_ms") or 0.0),
        "flags": sorted(row.get("flags") or ()),
        "info": {str(k): v for k, v in (row.get("info") or {}).items() if _scalar(v)},
        "dmel": list(codes.shape),
        "frame": bool(frames),
    }
    return meta, bufs


def _scalar(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) and not (isinstance(v, float) and v != v)


class InspectorWidget(anywidget.AnyWidget):
    """Shows one micro-turn; `seq` is the one shown (-1: none)."""

    _esm = asset("inspector.js")

    seq = t.Int(-1).tag(sync=True)

    def __init__(self, trace: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trace = trace
        self._last: tuple[dict, list] | None = None
        self._lock = threading.Lock()
        self.on_msg(self._on_custom_msg)

    def show(self, seq: int, trace: Any = None) -> dict:
        """Inspect micro-turn `seq` of `trace` (default: the trace given at construction)."""
        trace = trace if trace is not None else self.trace
        if trace is None:
            raise ValueError("no trace to inspect")
        rows = trace.rows
        if not rows:
            raise KeyError("the trace is empty")
        i = int(seq) - int(rows[0]["seq"])
        if not 0 <= i < len(rows):
            raise KeyError(f"no micro-turn with seq {seq} in this trace")
        turn = trace.microturn(seq)
        meta, bufs = inspect_message(rows[i], turn.audio, list(turn.frames))
        with self._lock:
            self._last = (meta, bufs)
            self.seq = int(seq)
            self.send(meta, buffers=bufs)
        return meta

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("type") == "ready":
            with self._lock:
                if self._last is not None:
                    self.send(self._last[0], buffers=self._last[1])
