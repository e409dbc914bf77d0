"""The turn-end detector lives inside the interaction-model checkpoint, under the key
"turn_end": {"config": ReaderConfig dict, "model": state dict, "threshold": float, "meta": dict}."""

from __future__ import annotations

from pathlib import Path

from nbduplex.model.reader.network import ReaderNet
from nbduplex.model.turn_end.data import OUTPUTS
from nbduplex.model.window_classifier import load_entry, save_entry

KEY = "turn_end"


def save_turn_end(checkpoint: str | Path, net: ReaderNet, threshold: float, meta: dict) -> Path:
    """Put the detector into an existing checkpoint (replacing any it had), atomically."""
    return save_entry(checkpoint, KEY, net, threshold, meta)


def load_turn_end(ckpt: dict) -> tuple[ReaderNet, float] | None:
    """(network in float32 eval mode, threshold) from a checkpoint dict; None without one."""
    return load_entry(ckpt, KEY, OUTPUTS)
