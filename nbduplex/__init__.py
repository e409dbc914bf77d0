"""nbduplex: full-duplex interaction models in Jupyter.

Stream micro-turns (200 ms of audio, video frames and text) from a browser, a file, a synthetic
scenario or a saved trace through a policy, record everything in a Trace, and look at it.
"""

from nbduplex.decision import ACTIONS, Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, SAMPLE_RATE, Flag, MicroTurn, TextEvent
from nbduplex.policy import Policy, resolve_policy

__version__ = "0.1.0"

__all__ = [
    "ACTIONS",
    "CHUNK_SAMPLES",
    "MICROTURN_S",
    "SAMPLE_RATE",
    "Action",
    "Decision",
    "Flag",
    "MicroTurn",
    "Policy",
    "TextEvent",
    "resolve_policy",
]


def __getattr__(name: str):
    """`nbduplex.live` / `nbduplex.replay`, imported lazily (they need anywidget/ipywidgets)."""
    if name in ("live", "replay"):
        from nbduplex import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'nbduplex' has no attribute {name!r}")
