"""The agent Gantt: background tasks and their tool calls as bars over stream time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from nbduplex.plots.common import (
    AGENT_KINDS,
    SPAN_COLORS,
    _host,
    _spans,
)

if TYPE_CHECKING:
    from nbduplex.trace import Trace


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
