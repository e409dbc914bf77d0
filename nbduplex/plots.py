"""Static matplotlib twins of the live widgets: timeline, decisions and agent Gantt.

Each function takes a `Trace` and returns a `matplotlib.figure.Figure` built without pyplot
(safe under the Agg backend, in threads, and displayed once in Jupyter). They stay readable
and fast at 3000 micro-turns: per-micro-turn data is drawn as images and collections, never
one artist per micro-turn.

    fig = plot_timeline(trace, start=10, end=40, labels=scenario.labels)
    fig.savefig("timeline.png")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from nbduplex.decision import ACTIONS
from nbduplex.microturn import MICROTURN_S

if TYPE_CHECKING:
    from nbduplex.trace import Trace

ACTION_COLORS: dict[str, str] = {
    "listen": "#d0d0d0",
    "respond": "#1f77b4",
    "backchannel": "#2ca02c",
    "interject": "#ff7f0e",
    "yield": "#d62728",
    "delegate": "#9467bd",
}  # shared colour per action (the widgets use the same)
SPAN_COLORS: dict[str, str] = {
    "agent_task": "#9467bd",
    "tool_call": "#8c564b",
    "playback": "#17becf",
    "setting": "#7f7f7f",
}
OTHER_COLOR = "#bcbd22"
AGENT_KINDS = ("agent_task", "tool_call")
SPEECH_KINDS = frozenset({"user_speech", "model_speech"})
LEVEL_FLOOR_DB = -80.0  # bottom of the user level lane
MAX_TEXT_LABELS = 40  # beyond this many, span/speech labels are left out


# ----------------------------------------------------------------- data helpers
class PlotFigure(Figure):
    """A matplotlib Figure that shows itself as a PNG in Jupyter, with or without pyplot."""

    def _repr_png_(self) -> bytes:
        import io

        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()


def _window(trace: Trace, start: float | None, end: float | None) -> tuple[list, float, float]:
    rows = trace.rows
    t0 = float(start) if start is not None else trace.start_time
    t1 = float(end) if end is not None else max(trace.end_time, t0 + MICROTURN_S)
    if t1 <= t0:
        raise ValueError(f"end ({t1}) must be after start ({t0})")
    eps = 1e-9  # stream times are multiples of 0.2 s up to float rounding
    return [r for r in rows if r["t"] + MICROTURN_S > t0 + eps and r["t"] < t1 - eps], t0, t1


def _actions(rows: list[dict[str, Any]]) -> list[str]:
    seen = dict.fromkeys(r["action"] for r in rows)
    extra = dict.fromkeys(k for r in rows for k in r.get("probs", {}))
    return [*ACTIONS, *(a for a in {**seen, **extra} if a not in ACTIONS)]


def _color(action: str) -> str:
    return ACTION_COLORS.get(action, OTHER_COLOR)


def _probs(rows: list[dict[str, Any]], actions: list[str]) -> np.ndarray:
    """(A, N) probabilities, 0 where missing."""
    p = np.zeros((len(actions), len(rows)))
    for j, r in enumerate(rows):
        for i, a in enumerate(actions):
            p[i, j] = r.get("probs", {}).get(a) or 0.0
    return p


def _edges(rows: list[dict[str, Any]]) -> np.ndarray:
    """(N + 1,) micro-turn boundaries for step plots."""
    t = np.array([r["t"] for r in rows], dtype=float)
    return np.append(t, t[-1] + MICROTURN_S) if len(t) else t


def _spans(trace: Trace, kinds: Iterable[str]) -> list[dict[str, Any]]:
    from nbduplex.trace.tables import closed_spans

    return closed_spans(trace, set(kinds))


def _lanes(items: list[tuple[float, float]]) -> list[int]:
    """Greedy lane per (start, end) so that spans on one lane never overlap."""
    ends: list[float] = []
    out = []
    for a, b in items:
        lane = next((i for i, e in enumerate(ends) if e <= a), len(ends))
        if lane == len(ends):
            ends.append(b)
        ends[lane] = max(b, a)
        out.append(lane)
    return out


def _label_marks(labels: Mapping[str, Any] | None) -> tuple[list[float], list[tuple[float, float]]]:
    """Ground-truth turn ends (times) and pauses ((start, end)) from a labels dict."""
    if not labels:
        return [], []

    def when(x: Any) -> float:
        if isinstance(x, Mapping):
            x = next(x[k] for k in ("t", "time", "end", "start") if k in x)
        return float(x)

    def pair(x: Any) -> tuple[float, float]:
        if isinstance(x, Mapping):
            return float(x["start"]), float(x["end"])
        a, b = x
        return float(a), float(b)

    return [when(x) for x in labels.get("turn_ends", [])], [
        pair(x) for x in labels.get("pauses", [])
    ]


def _host(
    ax: Axes | None, figsize: tuple[float, float], layout: str | None = None
) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    fig = PlotFigure(figsize=figsize, layout=layout)
    return fig, fig.add_subplot()


def _action_strip(ax: Axes, rows: list[dict[str, Any]], actions: list[str]) -> None:
    """The action of every micro-turn as one image (colour per action)."""
    if not rows:
        return
    code = np.array([[actions.index(r["action"]) for r in rows]])  # (1, N)
    cmap = ListedColormap([_color(a) for a in actions])
    e = _edges(rows)
    ax.imshow(
        code,
        cmap=cmap,
        vmin=-0.5,
        vmax=len(actions) - 0.5,
        aspect="auto",
        interpolation="nearest",
        extent=(e[0], e[-1], 0, 1),
        origin="lower",
    )


def _overlay_labels(axes: list[Axes], turn_ends: list[float], pauses: list[tuple[float, float]]):
    for ax in axes:
        if turn_ends:
            ax.vlines(
                turn_ends,
                0,
                1,
                transform=ax.get_xaxis_transform(),
                colors="k",
                linestyles="--",
                linewidth=0.9,
                zorder=6,
            )
    if pauses:
        axes[0].broken_barh(
            [(a, b - a) for a, b in pauses],
            (0, 1),
            transform=axes[0].get_xaxis_transform(),
            facecolors="none",
            edgecolors="k",
            hatch="//",
            linewidth=0.5,
            zorder=5,
        )


# ----------------------------------------------------------------- timeline
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
    a.set_ylim(LEVEL_FLOOR_DB, 0)
    a.set_ylabel("user\ndBFS", rotation=0, ha="right", va="center")

    a = lanes["model"]
    model = [(s, b - s) for s, b in trace.model_speech_spans() if b > t0 and s < t1]
    a.broken_barh(model, (0.1, 0.8), facecolors=ACTION_COLORS["respond"])
    said = [(r["t"] + MICROTURN_S, r["text"]) for r in rows if r.get("text")]
    if len(said) <= MAX_TEXT_LABELS:
        last = -np.inf
        for t, text in said:
            if t - last >= (t1 - t0) / 30:  # leave out labels that would overlap the previous
                a.text(t, 0.5, " " + text[:40], va="center", fontsize=7, clip_on=True)
                last = t
    a.set_ylim(0, 1)
    a.set_ylabel("model", rotation=0, ha="right", va="center")

    a = lanes["action"]
    _action_strip(a, rows, actions)
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


# ----------------------------------------------------------------- decisions
def plot_decisions(
    trace: Trace,
    *,
    start: float | None = None,
    end: float | None = None,
    ax: Axes | None = None,
    labels: Mapping[str, Any] | None = None,
) -> Figure:
    """Each action's probability over time (step lines), the chosen action of every micro-turn
    as a colour strip underneath, and a marker on every non-listen decision at its probability.
    """
    rows, t0, t1 = _window(trace, start, end)
    fig, a = _host(ax, (12.0, 3.8))
    actions = _actions(rows)
    if rows:
        e = _edges(rows)
        p = _probs(rows, actions)
        for i, act in enumerate(actions):
            if p[i].any():
                a.step(
                    e, np.append(p[i], p[i, -1]), where="post", color=_color(act), lw=1.2, label=act
                )
        chosen = [
            (
                r["t"] + MICROTURN_S / 2,
                r.get("probs", {}).get(r["action"]) or 0.0,
                _color(r["action"]),
            )
            for r in rows
            if r["action"] != "listen"
        ]
        if chosen:
            x, yv, c = zip(*chosen, strict=True)
            a.scatter(
                x,
                yv,
                c=list(c),
                marker="v",
                s=28,
                edgecolors="k",
                linewidths=0.5,
                zorder=5,
                label="chosen",
            )
        a.imshow(
            np.array([[actions.index(r["action"]) for r in rows]]),  # (1, N)
            cmap=ListedColormap([_color(act) for act in actions]),
            vmin=-0.5,
            vmax=len(actions) - 0.5,
            aspect="auto",
            interpolation="nearest",
            extent=(e[0], e[-1], -0.1, -0.03),
            origin="lower",
        )
    else:
        a.text(0.5, 0.5, "empty trace", transform=a.transAxes, ha="center", va="center")
    a.set_xlim(t0, t1)
    a.set_ylim(-0.11, 1.05)
    a.set_ylabel("probability")
    a.set_xlabel("stream time (s)")
    a.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    turn_ends, pauses = _label_marks(labels)
    _overlay_labels([a], turn_ends, pauses)
    handles = [Patch(color=_color(act), label=act) for act in actions]
    a.legend(
        handles=handles,
        ncol=len(handles),
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        frameon=False,
        fontsize=8,
    )
    a.set_title(f"decisions ({trace.policy or 'trace'})", loc="right", fontsize=9)
    return fig


# ----------------------------------------------------------------- agent Gantt
def plot_agent_trace(trace: Trace, *, ax: Axes | None = None) -> Figure:
    """Gantt chart of agent_task and tool_call spans: one row per span, each tool call under
    its task (via a `parent` span id in its data when given); open spans are hatched."""
    spans = _spans(trace, AGENT_KINDS)
    ordered = _gantt_order(spans)
    fig, a = _host(ax, (10.0, max(2.2, 1.0 + 0.32 * len(ordered))), "constrained")
    if not ordered:
        a.text(
            0.5,
            0.5,
            "no agent tasks or tool calls in this trace",
            transform=a.transAxes,
            ha="center",
            va="center",
            color="0.4",
        )
        a.set_axis_off()
        return fig
    original = {s["id"]: s for s in trace.spans}
    y = np.arange(len(ordered))
    left = np.array([s["start"] for s, _ in ordered])
    width = np.array([max(s["end"] - s["start"], 0.02) for s, _ in ordered])
    colors = [SPAN_COLORS[s["kind"]] for s, _ in ordered]
    hatches = ["//" if original[s["id"]].get("end") is None else "" for s, _ in ordered]
    a.barh(y, width, left=left, color=colors, hatch=hatches, edgecolor="k", linewidth=0.4)
    names = [
        ("  " * depth + "↳ " if depth else "") + str(s.get("label") or s["kind"])[:40]
        for s, depth in ordered
    ]
    a.set_yticks(y, names, fontsize=8)
    a.set_ylim(len(ordered) - 0.5, -0.5)
    a.set_xlabel("stream time (s)")
    a.grid(axis="x", alpha=0.3)
    handles = [Patch(color=SPAN_COLORS[k], label=k) for k in AGENT_KINDS]
    handles.append(Patch(facecolor="w", edgecolor="k", hatch="//", label="open"))
    a.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    a.set_title("background agent", loc="left", fontsize=9)
    return fig


def _gantt_order(spans: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Spans in start order, each child (data key `parent` = a span id) right under its parent."""
    ids = {s["id"] for s in spans}
    children: dict[Any, list[dict[str, Any]]] = {}
    for s in sorted(spans, key=lambda s: (s["start"], s["id"])):
        parent = s.get("parent") if s.get("parent") in ids and s.get("parent") != s["id"] else None
        children.setdefault(parent, []).append(s)
    out: list[tuple[dict[str, Any], int]] = []
    stack = [(s, 0) for s in reversed(children.get(None, []))]
    seen: set[int] = set()
    while stack:
        s, depth = stack.pop()
        if s["id"] in seen:
            continue
        seen.add(s["id"])
        out.append((s, depth))
        stack += [(c, depth + 1) for c in reversed(children.get(s["id"], []))]
    out += [(s, 0) for s in spans if s["id"] not in seen]  # cycles: show them flat
    return out
