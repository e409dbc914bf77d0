"""The decisions plot: each action's probability over time, the chosen action marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from nbduplex.microturn import MICROTURN_S
from nbduplex.plots.common import (
    _actions,
    _color,
    _edges,
    _host,
    _label_marks,
    _overlay_labels,
    _probs,
    _window,
)

if TYPE_CHECKING:
    from nbduplex.trace import Trace


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
