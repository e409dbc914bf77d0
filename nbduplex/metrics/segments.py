"""Model speech segments from trace rows, and the Full-Duplex-Bench "takes the turn" rule.

A trace row is one 200 ms micro-turn (see nbduplex.trace): `seq`, `t` (start, s), `speaking`
(the model's voice is audible in output chunk `seq`) and `text` (the words the model *starts*
saying at `t + 0.2`, "" if none). From those:

- a **run** is a maximal stretch of consecutive `speaking` rows, [t_first, t_last + 0.2), so
  every time here has 0.2 s resolution (FD-bench uses ASR word times; this is the adaptation);
- the **words** of a run are the whitespace-separated tokens (with a letter or digit) of every
  row text whose start time `t + 0.2` falls inside the run (or the gap just before it);
- a **segment** is runs merged across model gaps <= `merge_gap` (0.5 s, as FD-bench v1.5 does);
- a set of model speech **takes the turn** (TOR = 1) when it spans >= 1 s from its first start
  to its last end, or spans less with more than 3 words (FD-bench v1: `turn_duration_threshold
  = 1`, `turn_num_words_threshold = 3`, applied to all the model's words in a sample).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbduplex.microturn import MICROTURN_S

TURN_MIN_S = 1.0  # s; model speech this long takes the turn whatever its words
TURN_MAX_WORDS = 3  # shorter speech takes the turn with more words than this
MERGE_GAP_S = 0.5  # s; model gaps up to this join one segment (FD-bench v1.5)
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Segment:
    """Model speech from `start` to `end` (stream seconds) with `words` words started in it."""

    start: float
    end: float
    words: int = 0

    @property
    def duration(self) -> float:
        return self.end - self.start


def as_rows(rows_or_trace: Any) -> list[Mapping[str, Any]]:
    """Rows from a Trace (`.rows`), a pandas DataFrame or a list of dicts, sorted by seq.

    Each row needs `speaking`; `seq` or `t` gives its time (t = seq x 0.2 when `t` is absent);
    `text` is optional.
    """
    rows = rows_or_trace
    if hasattr(rows, "rows") and not isinstance(rows, Mapping):
        rows = rows.rows
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        rows = rows.to_dict("records")
    rows = list(rows)
    for r in rows:
        if not isinstance(r, Mapping):
            raise TypeError(f"a trace row must be a mapping, got {type(r).__name__}")
        if "speaking" not in r or ("seq" not in r and "t" not in r):
            raise ValueError(f"a trace row needs 'speaking' and 'seq' or 't': {dict(r)!r:.120}")
    return sorted(rows, key=_row_seq)


def _row_seq(row: Mapping[str, Any]) -> int:
    if "seq" in row and row["seq"] is not None:
        return int(row["seq"])
    return round(float(row["t"]) / MICROTURN_S)


def trace_duration(rows: Any) -> float:
    """Seconds covered by the rows: (last seq + 1) x 0.2 (0 for no rows)."""
    rows = as_rows(rows)
    return round((_row_seq(rows[-1]) + 1) * MICROTURN_S, 6) if rows else 0.0


def count_words(text: str | None) -> int:
    """Whitespace tokens that contain a letter or digit ("mm-hm" is one word, "..." none)."""
    return sum(any(ch.isalnum() for ch in tok) for tok in (text or "").split())


def speech_runs(rows: Any) -> list[Segment]:
    """Maximal runs of `speaking` micro-turns, each with the words started in it."""
    rows = as_rows(rows)
    spans: list[list[int]] = []  # [first_seq, last_seq]
    for r in rows:
        if not r["speaking"]:
            continue
        s = _row_seq(r)
        if spans and s == spans[-1][1] + 1:
            spans[-1][1] = s
        elif not spans or s > spans[-1][1]:
            spans.append([s, s])
    words = [0] * len(spans)
    for r in rows:
        n = count_words(r.get("text"))
        if not n or not spans:
            continue
        start_seq = _row_seq(r) + 1  # text decided in row k starts in output chunk k + 1
        for i, (_, b) in enumerate(spans):
            prev_end = spans[i - 1][1] + 1 if i else -(10**9)
            if prev_end <= start_seq <= b:  # inside the run, or in the gap just before it
                words[i] += n
                break
    return [
        Segment(round(a * MICROTURN_S, 6), round((b + 1) * MICROTURN_S, 6), w)
        for (a, b), w in zip(spans, words, strict=True)
    ]


def merge_segments(runs: Iterable[Segment], gap: float = MERGE_GAP_S) -> list[Segment]:
    """Join segments separated by at most `gap` seconds of model silence."""
    out: list[Segment] = []
    for s in sorted(runs, key=lambda s: s.start):
        if out and s.start - out[-1].end <= gap + _EPS:
            last = out[-1]
            out[-1] = Segment(last.start, max(last.end, s.end), last.words + s.words)
        else:
            out.append(s)
    return out


def model_segments(rows: Any, merge_gap: float = MERGE_GAP_S) -> list[Segment]:
    """Model speech segments: `speaking` runs merged across gaps <= `merge_gap` seconds."""
    return merge_segments(speech_runs(rows), merge_gap)


def takes_turn(duration: float, words: int) -> bool:
    """FD-bench v1: speech spanning >= 1 s, or shorter with more than 3 words, takes the turn."""
    return duration >= TURN_MIN_S - _EPS or words > TURN_MAX_WORDS


@dataclass(frozen=True, slots=True)
class WindowSpeech:
    """The model speech that starts inside one evaluation window."""

    first_start: float | None  # start of the first run in the window (None: silent)
    span: float  # last end - first start over those runs (0 when silent)
    words: int
    tor: bool


def window_speech(runs: Sequence[Segment], lo: float, hi: float) -> WindowSpeech:
    """TOR of the runs whose start lies in [lo, hi] (their full extent counts, as in FD-bench,
    where everything the model says in a sample counts)."""
    inside = [s for s in runs if lo - _EPS <= s.start <= hi + _EPS]
    if not inside:
        return WindowSpeech(None, 0.0, 0, False)
    first = min(s.start for s in inside)
    span = round(max(s.end for s in inside) - first, 6)
    words = sum(s.words for s in inside)
    return WindowSpeech(first, span, words, takes_turn(span, words))
