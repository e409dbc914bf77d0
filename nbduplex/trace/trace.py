"""`Trace`: the whole session as rows (one per micro-turn), spans and media.

With a directory, every `append`/`add_span`/`end_span` is written to disk as it happens
(append-only; see `nbduplex.trace.storage` and docs/trace-format.md), so a crash loses at most
the micro-turn being written. Without one, everything stays in memory until `save(dir)`.

    trace = Trace("runs/a", meta={"policy": "pipecat"})
    row = trace.append(turn, decision, out_chunk, latency_ms=12.5)
    sid = trace.add_span("agent_task", 3.2, label="look it up")
    trace.end_span(sid, 5.0, result="42")
    trace.close()
    again = Trace.load("runs/a")
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from nbduplex.decision import Decision
from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, MicroTurn, TextEvent
from nbduplex.trace import export, storage, tables
from nbduplex.trace.rows import (
    TraceError,
    check_input,
    conform_output,
    jsonable,
    make_row,
    make_span,
)
from nbduplex.trace.storage import FRAMES, INPUT, OUTPUT, SPANS, TURNS


class Trace:
    """A recorded session: `rows` (one dict per micro-turn), `spans` and the media.

    `directory`: write append-only to this (new or empty) directory as the session runs;
    None keeps everything in memory. `meta`: JSON-able user metadata (its "policy" key names
    the policy). `jpeg_quality`: 1..95, quality of the stored video frames.
    Safe to call from several threads (the loop appends, an agent adds spans).
    """

    def __init__(
        self,
        directory: str | Path | None = None,
        meta: dict[str, Any] | None = None,
        *,
        jpeg_quality: int = 85,
    ) -> None:
        if not 1 <= int(jpeg_quality) <= 95:
            raise ValueError(f"jpeg_quality must be in 1..95, got {jpeg_quality}")
        self.meta: dict[str, Any] = jsonable(dict(meta or {}))
        self.rows: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.recovery: list[str] = []  # what Trace.load dropped after a crash (empty if clean)
        self._refs: list[list[tuple[int, int]]] = []  # per row: (offset, length) in frames.bin
        self._span_index: dict[int, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._closed = False
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._file_meta = storage.make_meta(self.meta, created, int(jpeg_quality))
        self.directory = Path(directory) if directory is not None else None
        if self.directory is None:
            self._media: storage.MediaStore = storage.MediaStore()
            self._turn_log = self._span_log = storage.LineLog(None)
            return
        d = self.directory
        if d.exists() and (not d.is_dir() or any(d.iterdir())):
            raise TraceError(f"{d} exists and is not an empty directory (use Trace.load to read)")
        d.mkdir(parents=True, exist_ok=True)
        storage.write_meta(d, self._file_meta)
        self._media = storage.FileMediaStore(d, writable=True)
        self._turn_log, self._span_log = storage.LineLog(d / TURNS), storage.LineLog(d / SPANS)

    # ----------------------------------------------------------------- recording
    def append(
        self,
        turn: MicroTurn,
        decision: Decision,
        output_audio: np.ndarray | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Record one micro-turn (in seq order, contiguous) and return its row.

        `output_audio`: the model's output chunk k, int16 or float (CHUNK_SAMPLES,), None =
        silence. `extra`: more JSON-able columns (e.g. `latency_ms`); `speaking=` overrides
        the derived flag (see `rows.make_row`).
        """
        inp = check_input(turn)
        out = conform_output(output_audio)
        jpegs = [_encode_jpeg(f, self._file_meta["jpeg_quality"]) for f in turn.frames]
        row = make_row(turn, decision, inp, out, extra)
        with self._lock:
            self._check_open()
            if self.rows and row["seq"] != self.rows[-1]["seq"] + 1:
                raise ValueError(
                    f"micro-turn seq {row['seq']} does not follow {self.rows[-1]['seq']}: "
                    "rows must be appended once each, in order"
                )
            refs = [(self._media.append(FRAMES, j), len(j)) for j in jpegs]
            self._media.append(INPUT, inp.astype("<i2").tobytes())
            self._media.append(OUTPUT, out.astype("<i2").tobytes())
            self._media.flush()
            self._turn_log.write({**row, "_frames": [list(r) for r in refs]})
            self.rows.append(row)
            self._refs.append(refs)
        return row

    def add_span(
        self,
        kind: str,
        start: float,
        end: float | None = None,
        *,
        track: str = "",
        label: str = "",
        **data: Any,
    ) -> int:
        """Start (or record, if `end` is given) a span in stream seconds; returns its id.

        kinds used by nbduplex: user_speech, model_speech, agent_task, tool_call, playback,
        setting; any other non-empty string works too. `data`: JSON-able extras.
        """
        with self._lock:
            self._check_open()
            span = make_span(len(self.spans), kind, start, end, track, label, data)
            self.spans.append(span)
            self._span_index[span["id"]] = span
            self._span_log.write({"op": "start", **span})
            return span["id"]

    def end_span(self, span_id: int, end: float, **data: Any) -> None:
        """Close span `span_id` at `end` (stream seconds), adding/updating `data`."""
        with self._lock:
            self._check_open()
            if span_id not in self._span_index:
                raise KeyError(f"no span with id {span_id}")
            span = self._span_index[span_id]
            new = make_span(span_id, span["kind"], span["start"], end, "", "", data)
            upd = {"end": new["end"]} | {k: new[k] for k in data}
            span.update(upd)
            self._span_log.write({"op": "end", "id": span_id, **upd})

    def close(self) -> None:
        """Stop recording: flush and close the files, stamp meta.json. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._media.close()
            self._turn_log.close()
            self._span_log.close()
            if self.directory is not None:
                storage.write_meta(self.directory, self._stamped_meta())

    def __enter__(self) -> Trace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise TraceError("this trace is closed or was loaded from disk: it is read-only")

    def _stamped_meta(self) -> dict[str, Any]:
        closed = datetime.now(timezone.utc).isoformat(timespec="seconds")
        policy = str(self.meta.get("policy", ""))
        meta = jsonable(self.meta)
        return self._file_meta | {
            "closed": closed,
            "n_turns": len(self.rows),
            "policy": policy,
            "meta": meta,
        }

    # ----------------------------------------------------------------- load / save
    @classmethod
    def load(cls, directory: str | Path) -> Trace:
        """A read-only trace from `directory`, up to its last complete micro-turn.

        After a crash the torn tail is dropped (listed in `.recovery`, with a warning);
        a missing or garbled directory raises `TraceError`.
        """
        d = Path(directory)
        loaded = storage.read_directory(d)
        trace = cls.__new__(cls)
        trace.meta = loaded.meta.get("meta") or {}
        trace.rows, trace.spans, trace.recovery = loaded.rows, loaded.spans, loaded.recovery
        trace._refs = loaded.frame_refs
        trace._span_index = {s["id"]: s for s in trace.spans}
        trace._lock = threading.RLock()
        trace._closed = True
        trace._file_meta = loaded.meta
        trace.directory = d
        trace._media = storage.FileMediaStore(d, writable=False)
        trace._turn_log = trace._span_log = storage.LineLog(None)
        if trace.recovery:
            warnings.warn(
                f"{d}: recovered a torn trace: " + "; ".join(trace.recovery),
                RuntimeWarning,
                stacklevel=2,
            )
        return trace

    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write this trace to `directory` in the on-disk format; returns the path.

        The directory must be new or empty unless `overwrite` (which replaces the trace files).
        """
        d = Path(directory)
        if self.directory is not None and d.resolve() == self.directory.resolve():
            raise TraceError(f"{d} is this trace's own directory")
        if d.exists() and not overwrite and (not d.is_dir() or any(d.iterdir())):
            raise TraceError(f"{d} exists and is not empty (pass overwrite=True to replace)")
        d.mkdir(parents=True, exist_ok=True)
        with self._lock:
            n = len(self.rows)
            used_frames = max((o + k for r in self._refs for o, k in r), default=0)
            for name, size in (
                (INPUT, n * CHUNK_SAMPLES * 2),
                (OUTPUT, n * CHUNK_SAMPLES * 2),
                (FRAMES, used_frames),
            ):
                (d / name).write_bytes(self._media.read(name, 0, size))
            turns = (
                storage.dumps({**r, "_frames": [list(x) for x in f]})
                for r, f in zip(self.rows, self._refs, strict=True)
            )
            (d / TURNS).write_text("".join(turns), encoding="utf-8")
            spans = (storage.dumps({"op": "start", **s}) for s in self.spans)
            (d / SPANS).write_text("".join(spans), encoding="utf-8")
            storage.write_meta(d, self._stamped_meta())
        return d

    # ----------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        where = str(self.directory) if self.directory is not None else "memory"
        return f"Trace({len(self.rows)} micro-turns, {len(self.spans)} spans, {where})"

    @property
    def policy(self) -> str:
        """The policy name from the metadata ('' if not given)."""
        return str(self.meta.get("policy", self._file_meta.get("policy", "")))

    @property
    def start_time(self) -> float:
        """Stream time of the first micro-turn (0.0 for an empty trace)."""
        return float(self.rows[0]["t"]) if self.rows else 0.0

    @property
    def end_time(self) -> float:
        """Stream time of the end of the last micro-turn (0.0 for an empty trace)."""
        return float(self.rows[-1]["t"]) + MICROTURN_S if self.rows else 0.0

    def _pcm(self, name: str) -> np.ndarray:
        with self._lock:
            data = self._media.read(name, 0, len(self.rows) * CHUNK_SAMPLES * 2)
        return np.frombuffer(data, dtype="<i2").astype(np.int16)

    def input_audio(self) -> np.ndarray:
        """All input audio, int16 (len(trace) * CHUNK_SAMPLES,), starting at `start_time`."""
        return self._pcm(INPUT)

    def output_audio(self) -> np.ndarray:
        """The model's output audio, time-aligned with `input_audio()` (same length)."""
        return self._pcm(OUTPUT)

    def _index(self, seq: int) -> int:
        i = int(seq) - (self.rows[0]["seq"] if self.rows else 0)
        if not 0 <= i < len(self.rows):
            raise KeyError(f"no micro-turn with seq {seq} in this trace")
        return i

    def frames(self, seq: int) -> list[np.ndarray]:
        """The video frames of micro-turn `seq`, decoded: each (H, W, 3) uint8."""
        from PIL import Image

        refs = self._refs[self._index(seq)]
        with self._lock:
            blobs = [self._media.read(FRAMES, o, k) for o, k in refs]
        return [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in blobs]

    def microturn(self, seq: int) -> MicroTurn:
        """Micro-turn `seq` rebuilt from the trace (for replay through another policy)."""
        i = self._index(seq)
        row = self.rows[i]
        with self._lock:
            data = self._media.read(INPUT, i * CHUNK_SAMPLES * 2, CHUNK_SAMPLES * 2)
        wall = row.get("wall")
        return MicroTurn(
            seq=row["seq"],
            audio=np.frombuffer(data, dtype="<i2").astype(np.int16),
            frames=tuple(self.frames(seq)),
            text=tuple(TextEvent(r, t) for r, t in row.get("text_in", [])),
            wall=float(wall) if wall is not None else math.nan,
            flags=frozenset(row.get("flags", [])),
            model_speaking=bool(row.get("speaking", False)),
        )

    # ----------------------------------------------------------------- views and exports
    def to_pandas(self):
        """One row per micro-turn (see `tables.turns_frame`)."""
        return tables.turns_frame(self)

    def spans_frame(self):
        """One row per span (see `tables.spans_frame`)."""
        return tables.spans_frame(self)

    def user_speech_spans(self, *, threshold_db: float = -45.0) -> list[tuple[float, float]]:
        """(start, end) seconds of user speech (see `tables.user_speech_spans`)."""
        return tables.user_speech_spans(self, threshold_db=threshold_db)

    def model_speech_spans(self) -> list[tuple[float, float]]:
        """(start, end) seconds where the model's voice is audible (from `speaking` rows)."""
        return tables.model_speech_spans(self)

    def to_chrome_trace(self, path: str | Path) -> Path:
        """Write Chrome trace-event JSON (opens in Perfetto / chrome://tracing)."""
        return export.write_chrome_trace(self, path)

    def write_output_wav(self, path: str | Path) -> Path:
        """The model's speech as 16 kHz mono int16 wav, same length as the input."""
        return export.write_wav(self.output_audio(), path)

    def write_input_wav(self, path: str | Path) -> Path:
        """The input audio as 16 kHz mono int16 wav."""
        return export.write_wav(self.input_audio(), path)

    def write_events_jsonl(self, path: str | Path) -> Path:
        """One JSON object per micro-turn (the `nbduplex run` events.jsonl contract)."""
        return export.write_events_jsonl(self, path)


def _encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or a.shape[0] * a.shape[1] == 0:
        raise ValueError(f"frames must be (H, W, 3) uint8 RGB, got {a.dtype} {a.shape}")
    buf = io.BytesIO()
    Image.fromarray(a, "RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()
