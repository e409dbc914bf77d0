"""Shared pieces of the static plots: colours, the Jupyter-friendly Figure, data helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

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
