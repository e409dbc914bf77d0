"""nbduplex: full-duplex interaction models in Jupyter.

Stream micro-turns (200 ms of audio, video frames and text) from a browser, a file, a synthetic
scenario or a saved trace through a policy, record everything in a Trace, and look at it.
"""

from nbduplex.decision import ACTIONS, Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, SAMPLE_RATE, Flag, MicroTurn, TextEvent
from nbduplex.policy import Policy, resolve_policy

__version__ = "0.1.0"

# Heavier parts load on first use, so `import nbduplex` stays fast and needs no front end.
_LAZY = {
    "Session": "nbduplex.session",
    "Speaker": "nbduplex.speaker",
    "Trace": "nbduplex.trace",
    "generate_scenario": "nbduplex.scenarios",
    "live": "nbduplex.widgets",
    "replay": "nbduplex.widgets",
    "load_model": "nbduplex.model",
    "load_policy": "nbduplex.model",
    "evaluate": "nbduplex.metrics",
    "plot_timeline": "nbduplex.plots",
    "plot_decisions": "nbduplex.plots",
    "plot_agent_trace": "nbduplex.plots",
    "BackgroundAgent": "nbduplex.agent",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nbduplex' has no attribute {name!r}")


__all__ = [
    *_LAZY,
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
