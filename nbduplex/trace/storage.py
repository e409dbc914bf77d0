"""The on-disk trace format: an append-only directory that survives a crash at any byte.

A trace directory holds::

    meta.json     {"format": "nbduplex-trace", "version": 1, "created": ISO-8601 UTC,
                   "closed": ISO-8601 or null, "sample_rate": 16000, "chunk_samples": 3200,
                   "microturn_s": 0.2, "jpeg_quality": 85, "policy": "...", "n_turns": int|null,
                   "meta": {user metadata}}
    turns.jsonl   one JSON object per micro-turn, in seq order: the row (see rows.py) plus
                  "_frames": [[offset, length], ...] locating its JPEG frames in frames.bin
    spans.jsonl   {"op": "start", "id", "kind", "start", "end", "track", "label", ...data}
                  and {"op": "end", "id", "end", ...data} records, in the order they happened
    input.pcm     the input audio, int16 little-endian mono 16 kHz, 3200 samples per row
    output.pcm    the model's output audio, same layout (row i = output chunk i)
    frames.bin    JPEG images concatenated in arrival order

Writing order for each micro-turn: frames.bin, input.pcm and output.pcm are appended and
flushed first, then the row line is appended and flushed. A row therefore never refers to media
that were not written, and a process killed at any point leaves at worst a torn last line or
media beyond the last row. `read_directory` keeps the longest prefix of rows that parse and
whose media are complete, ignores the rest and says what it dropped; it raises `TraceError`
only when the directory is not a trace at all (missing, no/garbled meta.json, no turns.jsonl).
meta.json is only ever replaced atomically (write to a temporary file, then rename). Files are
flushed to the OS, not fsync'ed: a killed process loses nothing, a power cut may.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, SAMPLE_RATE
from nbduplex.trace.rows import TraceError

FORMAT = "nbduplex-trace"
FORMAT_VERSION = 1
META, TURNS, SPANS = "meta.json", "turns.jsonl", "spans.jsonl"
INPUT, OUTPUT, FRAMES = "input.pcm", "output.pcm", "frames.bin"
MEDIA = (INPUT, OUTPUT, FRAMES)
CHUNK_BYTES = CHUNK_SAMPLES * 2  # int16 little-endian


def dumps(obj: dict[str, Any]) -> str:
    """One compact, strict JSON line (no NaN) with its newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n"


def make_meta(user_meta: dict[str, Any], created: str, jpeg_quality: int) -> dict[str, Any]:
    """The content of meta.json for a new trace."""
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": created,
        "closed": None,
        "sample_rate": SAMPLE_RATE,
        "chunk_samples": CHUNK_SAMPLES,
        "microturn_s": MICROTURN_S,
        "jpeg_quality": jpeg_quality,
        "policy": str(user_meta.get("policy", "")),
        "n_turns": None,
        "meta": user_meta,
    }


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    """Replace meta.json atomically."""
    tmp = directory / (META + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    os.replace(tmp, directory / META)


class MediaStore:
    """Append-only byte streams `input.pcm`, `output.pcm`, `frames.bin` kept in memory."""

    def __init__(self) -> None:
        self._buf = {name: bytearray() for name in MEDIA}

    def size(self, name: str) -> int:
        return len(self._buf[name])

    def append(self, name: str, data: bytes) -> int:
        """Append `data`; returns the offset it was written at."""
        offset = len(self._buf[name])
        self._buf[name] += data
        return offset

    def read(self, name: str, offset: int, length: int) -> bytes:
        return bytes(self._buf[name][offset : offset + length])

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class FileMediaStore(MediaStore):
    """The same streams as files in a trace directory (appended and flushed, or read-only)."""

    def __init__(self, directory: Path, *, writable: bool) -> None:
        self.directory = directory
        self._sizes = {
            n: (directory / n).stat().st_size if (directory / n).exists() else 0 for n in MEDIA
        }
        # the append handles stay open for the life of the trace
        self._out = {n: open(directory / n, "ab") for n in MEDIA} if writable else {}  # noqa: SIM115

    def size(self, name: str) -> int:
        return self._sizes[name]

    def append(self, name: str, data: bytes) -> int:
        if not self._out:
            raise TraceError("this trace is read-only")
        offset = self._sizes[name]
        self._out[name].write(data)
        self._sizes[name] += len(data)
        return offset

    def read(self, name: str, offset: int, length: int) -> bytes:
        with open(self.directory / name, "rb") as f:
            f.seek(offset)
            return f.read(length)

    def flush(self) -> None:
        for f in self._out.values():
            f.flush()

    def close(self) -> None:
        for f in self._out.values():
            f.close()
        self._out = {}


class LineLog:
    """An append-only JSON-lines file (or nothing, for an in-memory trace)."""

    def __init__(self, path: Path | None) -> None:
        # held open for the life of the trace, flushed after every line
        self._f = open(path, "a", encoding="utf-8") if path is not None else None  # noqa: SIM115

    def write(self, obj: dict[str, Any]) -> None:
        if self._f is not None:
            self._f.write(dumps(obj))
            self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


@dataclass
class Loaded:
    """What `read_directory` found: meta, complete rows with their frame refs, spans, notes."""

    meta: dict[str, Any]
    rows: list[dict[str, Any]]
    frame_refs: list[list[tuple[int, int]]]
    spans: list[dict[str, Any]]
    recovery: list[str] = field(default_factory=list)


def read_meta(directory: Path) -> dict[str, Any]:
    """meta.json of a trace directory, checked; `TraceError` if it is not a trace."""
    if not directory.is_dir():
        raise TraceError(f"no trace directory at {directory}")
    path = directory / META
    if not path.is_file():
        raise TraceError(f"{directory} is not a trace: {META} is missing")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TraceError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise TraceError(f"{path} does not describe an {FORMAT} directory")
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise TraceError(
            f"{path}: format version {version!r} is not supported "
            f"(this nbduplex reads versions <= {FORMAT_VERSION})"
        )
    if meta.get("chunk_samples", CHUNK_SAMPLES) != CHUNK_SAMPLES:
        raise TraceError(f"{path}: chunk_samples {meta.get('chunk_samples')} != {CHUNK_SAMPLES}")
    return meta


def read_directory(directory: Path) -> Loaded:
    """Everything in a trace directory up to its last complete micro-turn (never raises on a
    torn tail; see the module docstring)."""
    meta = read_meta(directory)
    if not (directory / TURNS).is_file():
        raise TraceError(f"{directory} is not a trace: {TURNS} is missing")
    notes: list[str] = []
    lines = _read_lines(directory / TURNS)
    rows: list[dict[str, Any]] = []
    refs: list[list[tuple[int, int]]] = []
    for i, line in enumerate(lines):
        row = _parse_row(line, rows[-1]["seq"] if rows else None)
        if row is None:
            notes.append(
                f"{TURNS}: dropped {len(lines) - i} torn or invalid line(s) from line {i + 1}"
            )
            break
        refs.append([(int(o), int(n)) for o, n in row.pop("_frames", [])])
        rows.append(row)
    sizes = {n: (directory / n).stat().st_size if (directory / n).exists() else 0 for n in MEDIA}
    n = _complete_prefix(refs, sizes)
    if n < len(rows):
        notes.append(f"dropped {len(rows) - n} micro-turn(s) whose media were incomplete")
        rows, refs = rows[:n], refs[:n]
    used = {
        INPUT: n * CHUNK_BYTES,
        OUTPUT: n * CHUNK_BYTES,
        FRAMES: max((o + k for r in refs for o, k in r), default=0),
    }
    notes += [
        f"ignored {sizes[m] - used[m]} byte(s) of {m} beyond the last complete micro-turn"
        for m in MEDIA
        if sizes[m] > used[m]
    ]
    spans = _read_spans(directory / SPANS, notes)
    return Loaded(meta, rows, refs, spans, notes)


def _read_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _parse_row(line: bytes, prev_seq: int | None) -> dict[str, Any] | None:
    try:
        row = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(row, dict) or not isinstance(row.get("seq"), int):
        return None
    if prev_seq is not None and row["seq"] != prev_seq + 1:
        return None
    frames = row.get("_frames", [])
    if not isinstance(frames, list) or not all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(x, int) and x >= 0 for x in r)
        for r in frames
    ):
        return None
    if not isinstance(row.get("t"), (int, float)) or not math.isfinite(row["t"]):
        return None
    return row


def _complete_prefix(refs: list[list[tuple[int, int]]], sizes: dict[str, int]) -> int:
    n_audio = min(sizes[INPUT], sizes[OUTPUT]) // CHUNK_BYTES
    n = 0
    for i, r in enumerate(refs):
        if i >= n_audio or any(o + k > sizes[FRAMES] for o, k in r):
            break
        n = i + 1
    return n


def _read_spans(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    spans: dict[int, dict[str, Any]] = {}
    bad = 0
    for line in _read_lines(path):
        try:
            rec = json.loads(line.decode("utf-8"))
            op, sid = rec.pop("op"), rec["id"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
            bad += 1
            continue
        if op == "start" and isinstance(sid, int) and _valid_span(rec):
            spans[sid] = rec
        elif op == "end" and sid in spans:
            spans[sid].update(rec)
        else:
            bad += 1
    if bad:
        notes.append(f"{SPANS}: skipped {bad} torn or invalid record(s)")
    return sorted(spans.values(), key=lambda s: s["id"])


def _valid_span(rec: dict[str, Any]) -> bool:
    start, end = rec.get("start"), rec.get("end")
    return (
        isinstance(rec.get("kind"), str)
        and isinstance(start, (int, float))
        and (end is None or isinstance(end, (int, float)))
    )
