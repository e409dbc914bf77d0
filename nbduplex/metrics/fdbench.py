"""Full-Duplex-Bench v1 timing metrics, computed from one session's trace rows and labels.

FD-bench v1 (DanielLin94144/Full-Duplex-Bench) scores one audio sample per event; an nbduplex
session holds many events, so each event gets an *evaluation window*, and the model speech
(runs of `speaking` micro-turns, see `segments.py`) that starts in that window is that event's
"sample". Everything has 0.2 s resolution. TOR ("takes the turn") is FD-bench's rule: the
speech spans >= 1 s from first start to last end, or less with more than 3 words.

- **Pause handling** (`pause_handling`): for each mid-turn pause (start, end) the window is
  [start, end + after]; TOR = 1 means the model took the turn in a pause. Lower is better.
  `after` (0.5 s) also catches a reply decided in the pause that only becomes audible after
  the user resumed.
- **Smooth turn-taking** (`smooth_turn_taking`): for each user turn end e the window is
  [e - lead, e + window]; TOR (higher is better) and latency = first model speech start - e,
  clipped at 0 (FD-bench clips early starts to 0), averaged over TOR = 1 events only.
- **User interruption** (`user_interruption`): the user speaks (start, end) over the model.
  *Stop latency*: from the interruption start to the first micro-turn in which the model is
  silent (0 if it was not speaking), i.e. how long model and user speech overlap after the
  interruption starts; `stopped` counts stops within `stop_within` (0.4 s) and `overlap_s` is
  the model speech inside [start, end]. *Response*: TOR of the model speech that starts in
  [start, end + window] (the interrupted utterance, which started earlier, is not a response)
  and its latency = first start - end, clipped at 0, over TOR = 1 (FD-bench v1 definition).
- **Back-channel** (`backchannel`): segments (runs merged over gaps <= 0.5 s) lasting <= 3 s
  are back-channels; frequency = their count / the evaluated duration (per second), as FD-bench
  v1. Its TOR flags formal speaking: any segment > 3 s, or a shorter one with more than 3 words,
  or 1-3 s long, or < 1 s with 3 words. `hit_rate` (nbduplex's addition, needs labelled
  opportunities) = share of opportunities with a back-channel starting within `tolerance`.

Rates over zero events are NaN (not 0), so an empty category never looks perfect.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nbduplex.metrics.segments import (
    TURN_MAX_WORDS,
    TURN_MIN_S,
    Segment,
    model_segments,
    speech_runs,
    trace_duration,
    window_speech,
)

BACKCHANNEL_MAX_S = 3.0  # s; model segments up to this long count as back-channels
STOP_WITHIN_S = 0.4  # s; an interruption "stopped" when the model falls silent this quickly
_EPS = 1e-6

Interval = tuple[float, float]


def _mean(xs: Sequence[float]) -> float:
    return float(sum(xs) / len(xs)) if xs else math.nan


def _intervals(items: Sequence[Any], what: str) -> list[Interval]:
    out = []
    for it in items:
        a, b = float(it[0]), float(it[1])
        if not (math.isfinite(a) and math.isfinite(b)) or b < a:
            raise ValueError(f"{what} must be finite (start, end) with end >= start, got {it!r}")
        out.append((a, b))
    return out


def _per_event(value: float | Sequence[float], n: int, what: str) -> list[float]:
    vals = [float(value)] * n if isinstance(value, int | float) else [float(v) for v in value]
    if len(vals) != n:
        raise ValueError(f"{what}: {len(vals)} values for {n} events")
    if any(not v >= 0.0 for v in vals):
        raise ValueError(f"{what} must be >= 0 s")
    return vals


def pause_handling(rows: Any, pauses: Sequence[Interval], after: float = 0.5) -> dict:
    """TOR over mid-turn pauses (lower is better); see the module docstring."""
    runs = speech_runs(rows)
    events = []
    for a, b in _intervals(pauses, "pauses"):
        w = window_speech(runs, a, b + after)
        events.append({"start": a, "end": b, "tor": int(w.tor), "span": w.span, "words": w.words})
    return {"tor": _mean([e["tor"] for e in events]), "n": len(events), "events": events}


def smooth_turn_taking(
    rows: Any,
    turn_ends: Sequence[float],
    window: float | Sequence[float] = 3.0,
    lead: float = 0.5,
) -> dict:
    """TOR (higher is better) and latency after user turn ends; see the module docstring.

    `window` (s after each turn end, one value or one per event) bounds where a reply may start;
    `lead` (s) lets a reply that starts slightly early count, with latency clipped to 0.
    """
    runs = speech_runs(rows)
    ends = [float(e) for e in turn_ends]
    if any(not math.isfinite(e) for e in ends):
        raise ValueError("turn_ends must be finite times")
    windows = _per_event(window, len(ends), "window")
    events = []
    for e, win in zip(ends, windows, strict=True):
        w = window_speech(runs, e - lead, e + win)
        latency = max(0.0, w.first_start - e) if w.tor and w.first_start is not None else None
        events.append(
            {"t": e, "tor": int(w.tor), "latency": latency, "span": w.span, "words": w.words}
        )
    lat = [ev["latency"] for ev in events if ev["latency"] is not None]
    return {
        "tor": _mean([ev["tor"] for ev in events]),
        "latency": _mean(lat),
        "n": len(events),
        "events": events,
    }


def _stop(runs: Sequence[Segment], start: float) -> tuple[float, bool]:
    """Seconds from `start` until the first silent micro-turn, and whether it was speaking.

    `runs` are unmerged: a gap of one micro-turn is a stop."""
    for s in runs:
        if s.start <= start + _EPS and start < s.end - _EPS:
            return round(s.end - start, 6), True
    return 0.0, False


def user_interruption(
    rows: Any,
    interruptions: Sequence[Interval],
    window: float | Sequence[float] = 3.0,
    stop_within: float = STOP_WITHIN_S,
) -> dict:
    """Stop latency, stop rate, response TOR and response latency for each interruption."""
    runs = speech_runs(rows)
    ints = _intervals(interruptions, "interruptions")
    windows = _per_event(window, len(ints), "window")
    events = []
    for (a, b), win in zip(ints, windows, strict=True):
        stop, was_speaking = _stop(runs, a)
        overlap = sum(max(0.0, min(s.end, b) - max(s.start, a)) for s in runs)
        w = window_speech(runs, a + _EPS * 2, b + win)
        latency = max(0.0, w.first_start - b) if w.tor and w.first_start is not None else None
        events.append(
            {
                "start": a,
                "end": b,
                "model_speaking": was_speaking,
                "stop_latency": stop,
                "stopped": int(stop <= stop_within + _EPS),
                "overlap_s": round(overlap, 6),
                "tor": int(w.tor),
                "latency": latency,
            }
        )
    spoken = [e for e in events if e["model_speaking"]]
    lat = [e["latency"] for e in events if e["latency"] is not None]
    return {
        "stop_latency": _mean([e["stop_latency"] for e in spoken]),
        "stopped_rate": _mean([e["stopped"] for e in spoken]),
        "overlap_s": _mean([e["overlap_s"] for e in spoken]),
        "tor": _mean([e["tor"] for e in events]),
        "latency": _mean(lat),
        "n": len(events),
        "n_model_speaking": len(spoken),
        "events": events,
    }


def _backchannel_tor(segments: Sequence[Segment]) -> bool:
    """FD-bench v1 back-channel TOR: did the model speak formally rather than back-channel?"""
    for s in segments:
        if s.duration > BACKCHANNEL_MAX_S + _EPS or s.words > TURN_MAX_WORDS:
            return True
        if s.duration >= TURN_MIN_S - _EPS or s.words > 2:
            return True
    return False


def backchannel(
    rows: Any,
    span: Interval | None = None,
    opportunities: Sequence[float | Interval] = (),
    tolerance: float = 0.5,
    merge_gap: float = 0.5,
) -> dict:
    """Back-channel frequency (short model segments per second) over `span` (default: the whole
    trace), FD-bench's back-channel TOR, and the hit rate on labelled opportunities.

    An opportunity is a time o or a span (a, b); it is hit when a back-channel starts in
    [o, o + tolerance] or [a, b + tolerance].
    """
    segs = model_segments(rows, merge_gap)
    if span is None:
        lo, hi = 0.0, trace_duration(rows)
    else:
        ((lo, hi),) = _intervals([span], "span")
    duration = hi - lo
    segs = [s for s in segs if lo - _EPS <= s.start < hi - _EPS]
    short = [s for s in segs if s.duration <= BACKCHANNEL_MAX_S + _EPS]
    opp = [
        (float(o), float(o)) if isinstance(o, int | float) else (o[0], o[1]) for o in opportunities
    ]
    opp = _intervals(opp, "opportunities")
    hits = [any(a - _EPS <= s.start <= b + tolerance + _EPS for s in short) for a, b in opp]
    return {
        "frequency": len(short) / duration if duration > 0 else math.nan,
        "count": len(short),
        "duration": duration,
        "tor": int(_backchannel_tor(segs)),
        "hit_rate": _mean([float(h) for h in hits]),
        "n_opportunities": len(opp),
        "segments": [(s.start, s.end, s.words) for s in short],
    }
