"""Rows and spans of a trace as plain JSON values.

A trace row is one micro-turn: what came in (`seq`, `t`, `wall`, `flags`, `level_db`,
`user_text`, `text_in`, `n_frames`), what the policy decided (`action`, `probs`, `text`, `task`,
`attribution`, `info`, `step_ms`) and what went out (`speaking`), plus any extra keys the
caller adds (e.g. `latency_ms`). Every value is JSON-native: numpy scalars become Python
numbers, sets become sorted lists, enums their value and non-finite floats `None`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

import numpy as np

from nbduplex.decision import Decision
from nbduplex.microturn import CHUNK_SAMPLES, MicroTurn, float_to_int16, rms_dbfs

SPAN_KINDS: tuple[str, ...] = (
    "user_speech",
    "model_speech",
    "agent_task",
    "tool_call",
    "playback",
    "setting",
)  # the span kinds nbduplex itself records; any other non-empty string is allowed too

ROW_KEYS: tuple[str, ...] = (
    "seq",
    "t",
    "wall",
    "flags",
    "level_db",
    "user_text",
    "text_in",
    "action",
    "probs",
    "text",
    "task",
    "step_ms",
    "speaking",
    "attribution",
    "info",
    "n_frames",
)  # keys every row has; extra keys follow them
SPAN_KEYS: tuple[str, ...] = ("id", "kind", "start", "end", "track", "label")


class TraceError(Exception):
    """A trace that cannot be written, read or used as asked."""


def jsonable(value: Any) -> Any:
    """`value` converted to JSON-native Python values (recursively).

    numpy scalars/arrays -> numbers/lists, sets -> sorted lists, tuples -> lists, enums -> their
    value, NaN/inf -> None, mapping keys -> str. Anything else raises `TypeError`.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot store {type(value).__name__} in a trace: {value!r}")


def conform_output(output_audio: np.ndarray | None) -> np.ndarray:
    """The model's output chunk as int16 (CHUNK_SAMPLES,); None means silence.

    Float audio in [-1, 1] is converted; any other length raises `ValueError`.
    """
    if output_audio is None:
        return np.zeros(CHUNK_SAMPLES, np.int16)
    a = np.asarray(output_audio)
    if a.shape != (CHUNK_SAMPLES,):
        raise ValueError(f"output audio must have shape ({CHUNK_SAMPLES},), got {a.shape}")
    if a.dtype.kind == "f":
        a = float_to_int16(np.nan_to_num(a, nan=0.0, posinf=1.0, neginf=-1.0))
    elif a.dtype != np.int16:
        raise ValueError(f"output audio must be int16 or float, got {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.int16)


def check_input(turn: MicroTurn) -> np.ndarray:
    """The micro-turn's audio, checked to be int16 (CHUNK_SAMPLES,)."""
    a = np.asarray(turn.audio)
    if a.shape != (CHUNK_SAMPLES,) or a.dtype != np.int16:
        raise ValueError(
            f"turn {turn.seq}: audio must be int16 ({CHUNK_SAMPLES},), got {a.dtype} {a.shape}"
        )
    return np.ascontiguousarray(a)


def make_row(
    turn: MicroTurn,
    decision: Decision,
    input_audio: np.ndarray,  # (CHUNK_SAMPLES,) int16
    output_audio: np.ndarray,  # (CHUNK_SAMPLES,) int16
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON-native row of one micro-turn.

    `speaking` is `extra["speaking"]` when given, else whether the input says the model was
    audible (`turn.model_speaking`) or the output chunk has any non-zero sample.
    """
    extra = dict(extra)
    speaking = extra.pop("speaking", None)
    if speaking is None:
        speaking = bool(turn.model_speaking or np.any(output_audio != 0))
    clash = set(extra) & set(ROW_KEYS)
    if clash:
        raise ValueError(f"extra keys clash with row keys: {sorted(clash)}")
    row: dict[str, Any] = {
        "seq": int(turn.seq),
        "t": float(turn.t),
        "wall": turn.wall,
        "flags": sorted(turn.flags),
        "level_db": round(rms_dbfs(input_audio), 3),
        "user_text": turn.user_text,
        "text_in": [[e.role, e.text] for e in turn.text],
        "action": decision.action.value,
        "probs": dict(decision.probs),
        "text": decision.text or "",
        "task": decision.task,
        "step_ms": float(decision.step_ms),
        "speaking": bool(speaking),
        "attribution": dict(decision.attribution),
        "info": dict(decision.info),
        "n_frames": len(turn.frames),
        **extra,
    }
    return jsonable(row)


def make_span(
    span_id: int,
    kind: str,
    start: float,
    end: float | None,
    track: str,
    label: str,
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """A JSON-native span dict; times are stream seconds, `end` None while open."""
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"span kind must be a non-empty string, got {kind!r}")
    start = _time(start, "start")
    if end is not None:
        end = _time(end, "end")
        if end < start:
            raise ValueError(f"span end {end} is before its start {start}")
    clash = set(data) & set(SPAN_KEYS)
    if clash:
        raise ValueError(f"span data keys clash with span keys: {sorted(clash)}")
    span = {"id": span_id, "kind": kind, "start": start, "end": end}
    span |= {"track": str(track), "label": str(label), **data}
    return jsonable(span)


def _time(x: float, what: str) -> float:
    try:
        f = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"span {what} must be a number of seconds, got {x!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"span {what} must be finite, got {x!r}")
    return f
