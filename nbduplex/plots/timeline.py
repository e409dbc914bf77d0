"""The timeline plot: user level and speech, model speech, actions, probabilities, agent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from nbduplex.microturn import MICROTURN_S
from nbduplex.plots.common import (
    ACTION_COLORS,
    AGENT_KINDS,
    LEVEL_FLOOR_DB,
    MAX_TEXT_LABELS,
    SPAN_COLORS,
    PlotFigure,
    _action_strip,
    _actions,
    _color,
    _edges,
    _label_marks,
    _lanes,
    _overlay_labels,
    _probs,
    _spans,
    _window,
)

if TYPE_CHECKING:
    from nbduplex.trace import Trace


def plot_timeline(
    trace: Trace,
    *,
    start: float | None = None,
    end: float | None = None,
    ax: Axes | None = None,
    labels: Mapping[str, Any] | None = None,
) -> Figure:
    """Lanes over stream time: user level and speech, model speech, action per micro-turn,
    stacked action probabilities and agent spans.

    `start`/`end`: window in seconds (default: the whole trace). `ax`: the lanes take its
    place in its figure (it is hidden); default a new Figure. The five lanes are the last five
    axes of the figure, top to bottom. `labels`: ground truth
    with "turn_ends" (times, dashed lines) and/or "pauses" ((start, end), hatched).
    """
    rows, t0, t1 = _window(trace, start, end)
    if ax is None:
        fig, (x0, y0, w, h) = PlotFigure(figsize=(12.0, 6.5)), (0.09, 0.08, 0.88, 0.84)
    else:  # the lanes take the place of the given axes
        fig, (x0, y0, w, h) = ax.figure, ax.get_position().bounds
        ax.set_axis_off()
    heights = {"user": 1.3, "model": 0.45, "action": 0.45, "probs": 1.1, "agent": 1.0}
    gap = 0.04 * h
    scale = (h - gap * (len(heights) - 1)) / sum(heights.values())
    lanes: dict[str, Axes] = {}
    y = y0 + h
    for name, lh in heights.items():
        y -= lh * scale
        share = next(iter(lanes.values()), None)
        lanes[name] = fig.add_axes((x0, y, w, lh * scale), sharex=share)
        y -= gap
    actions = _actions(rows)
    e = _edges(rows)

    a = lanes["user"]
    if rows:
        level = np.array([r["level_db"] if r["level_db"] is not None else -100.0 for r in rows])
        level = np.clip(np.append(level, level[-1]), LEVEL_FLOOR_DB, 0.0)
        a.fill_between(e, level, LEVEL_FLOOR_DB, step="post", color="#4c72b0", alpha=0.8, lw=0)
    user = [(s, b - s) for s, b in trace.user_speech_spans() if b > t0 and s < t1]
    a.broken_barh(user, (LEVEL_FLOOR_DB, -LEVEL_FLOOR_DB), facecolors="#4c72b0", alpha=0.15)
    # what the user typed, instructions the model's reader heard in the user's speech, and the
    # CueSpeak cue words its spotter heard
    notes = [(r["t"], f"typed: {r['user_text']}") for r in rows if r.get("user_text")]
    for key, label in (("heard_instruction", "heard"), ("cue_heard", "heard cue")):
        notes += [(r["t"], f"{label}: {r['info'][key]}") for r in rows
                  if (r.get("info") or {}).get(key)]  # fmt: skip
    _text_labels(a, sorted(notes), 0.12 * LEVEL_FLOOR_DB, t0, t1, style="italic")
    a.set_ylim(LEVEL_FLOOR_DB, 0)
    a.set_ylabel("user\ndBFS", rotation=0, ha="right", va="center")

    a = lanes["model"]
    model = [(s, b - s) for s, b in trace.model_speech_spans() if b > t0 and s < t1]
    a.broken_barh(model, (0.1, 0.8), facecolors=ACTION_COLORS["respond"])
    # two rows of words: an answer that cuts its acknowledgement short still shows its words
    said = [(r["t"] + MICROTURN_S, r["text"]) for r in rows if r.get("text")]
    _text_labels(a, said, 0.68, t0, t1, second_y=0.32)
    a.set_ylim(0, 1)
    a.set_ylabel("model", rotation=0, ha="right", va="center")

    a = lanes["action"]
    _action_strip(a, rows, actions)
    held = _held_marks(a, rows)
    overridden = _listener_marks(a, rows)
    a.set_ylim(0, 1)
    a.set_ylabel("action", rotation=0, ha="right", va="center")

    a = lanes["probs"]
    if rows:
        p = _probs(rows, actions)
        p = np.concatenate([p, p[:, -1:]], axis=1)  # (A, N + 1) for step="post"
        base = np.zeros(p.shape[1])
        for i, act in enumerate(actions):
            a.fill_between(e, base, base + p[i], step="post", color=_color(act), lw=0)
            base = base + p[i]
    a.set_ylim(0, 1)
    a.set_ylabel("probs", rotation=0, ha="right", va="center")

    a = lanes["agent"]
    _agent_lane(a, trace, t0, t1)
    a.set_ylabel("agent", rotation=0, ha="right", va="center")

    for name, lane in lanes.items():
        if name not in ("user", "probs"):
            lane.set_yticks([])
        if name != "agent":
            lane.tick_params(labelbottom=False)
    lanes["agent"].set_xlabel("stream time (s)")
    lanes["user"].set_xlim(t0, t1)
    _overlay_labels(list(lanes.values()), *_label_marks(labels))
    handles = [Patch(color=_color(act), label=act) for act in actions]
    if held:
        handles.append(Patch(facecolor="none", edgecolor="k", hatch="////", label=HELD_LABEL))
    if overridden:
        handles.append(Line2D([], [], color="k", marker="v", ls="none", label=LISTENER_LABEL))
    lanes["user"].legend(
        handles=handles,
        ncol=len(handles),
        loc="lower left",
        frameon=False,
        bbox_to_anchor=(0.0, 1.0),
        fontsize=8,
        handlelength=1.2,
    )
    title = f"{trace.policy or 'trace'}: {len(rows)} micro-turns, {t0:.1f}-{t1:.1f} s"
    lanes["user"].set_title(title, loc="right", fontsize=9)
    return fig


HELD_LABEL = "held (user pausing)"


def _held_marks(a: Axes, rows: list[dict[str, Any]]) -> bool:
    """Hatch the micro-turns where the model wanted to answer but its turn-end detector heard
    the user only pausing (`info["held_in_pause"]`); True when there were any."""
    held = [(r["t"], MICROTURN_S) for r in rows if (r.get("info") or {}).get("held_in_pause")]
    if held:
        a.broken_barh(held, (0.0, 1.0), facecolors="none", edgecolors="k", hatch="////",
                      linewidth=0.0)  # fmt: skip
    return bool(held)


LISTENER_LABEL = "set by a listener"


def _listener_marks(a: Axes, rows: list[dict[str, Any]]) -> bool:
    """A marker over the micro-turns whose action a listener set, not the transformer's own
    probabilities (the probs lane shows those): a cue word the spotter heard, a held answer
    taken up, a silence answered, an acknowledgement the user talked over; True when there were
    any."""
    keys = ("pending_answer", "answered_silence", "acknowledgement_cut")
    ts = [r["t"] + MICROTURN_S / 2 for r in rows
          if (info := r.get("info") or {}).get("words_from") == "cue"
          or any(info.get(k) for k in keys)]  # fmt: skip
    if ts:
        a.plot(ts, [0.85] * len(ts), "v", color="k", markersize=5, clip_on=False)
    return bool(ts)


def _text_labels(
    a: Axes,
    items: list[tuple[float, str]],
    y: float,
    t0: float,
    t1: float,
    style: str = "normal",
    second_y: float | None = None,
) -> None:
    """Short labels at (t, y); one that would overlap the previous label goes to `second_y`
    when given and free there, else it is left out (all of them when there are more than
    MAX_TEXT_LABELS)."""
    if len(items) > MAX_TEXT_LABELS:
        return
    # seconds per point of lane width: a label of n characters at 7 pt is ~n x 3.9 pt wide
    width_pt = a.get_position().width * a.figure.get_figwidth() * 72
    s_per_pt = (t1 - t0) / max(width_pt, 1.0)
    rows = [y] if second_y is None else [y, second_y]
    free_from = dict.fromkeys(rows, -np.inf)
    for t, text in items:
        row = next((r for r in rows if t >= free_from[r]), None)
        if row is not None:
            label = " " + text[:40]
            a.text(t, row, label, va="center", fontsize=7, clip_on=True, style=style)
            free_from[row] = t + len(label) * 7 * 0.55 * s_per_pt


def _agent_lane(ax: Axes, trace: Trace, t0: float, t1: float) -> None:
    spans = [s for s in _spans(trace, AGENT_KINDS) if s["end"] >= t0 and s["start"] <= t1]
    if not spans:
        ax.text(
            0.5,
            0.5,
            "no agent spans",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            color="0.5",
        )
        ax.set_ylim(0, 1)
        return
    spans.sort(key=lambda s: (s["start"], s["end"]))
    lanes = _lanes([(s["start"], s["end"]) for s in spans])
    n = max(lanes) + 1
    for kind in AGENT_KINDS:
        bars = [
            ((s["start"], max(s["end"] - s["start"], 0.02)), lane)
            for s, lane in zip(spans, lanes, strict=True)
            if s["kind"] == kind
        ]
        for lane in sorted({ln for _, ln in bars}):
            ax.broken_barh(
                [b for b, ln in bars if ln == lane], (lane + 0.1, 0.8), facecolors=SPAN_COLORS[kind]
            )
    if len(spans) <= MAX_TEXT_LABELS:
        for s, lane in zip(spans, lanes, strict=True):
            ax.text(
                max(s["start"], t0),
                lane + 0.5,
                " " + str(s.get("label") or s["kind"])[:30],
                va="center",
                fontsize=7,
                clip_on=True,
                color="w",
            )
    ax.set_ylim(n, 0)
