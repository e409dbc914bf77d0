"""Static matplotlib twins of the live widgets: timeline, decisions and agent Gantt.

Each function takes a `Trace` and returns a `matplotlib.figure.Figure` built without pyplot
(safe under the Agg backend, in threads, and displayed once in Jupyter). They stay readable
and fast at 3000 micro-turns: per-micro-turn data is drawn as images and collections, never
one artist per micro-turn.

    fig = plot_timeline(trace, start=10, end=40, labels=scenario.labels)
    fig.savefig("timeline.png")
"""

from nbduplex.plots.agent_gantt import plot_agent_trace
from nbduplex.plots.common import ACTION_COLORS, SPAN_COLORS, PlotFigure
from nbduplex.plots.decisions import plot_decisions
from nbduplex.plots.timeline import plot_timeline

__all__ = [
    "ACTION_COLORS",
    "SPAN_COLORS",
    "PlotFigure",
    "plot_agent_trace",
    "plot_decisions",
    "plot_timeline",
]
