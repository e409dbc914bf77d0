"""The cue spotter lives inside the interaction-model checkpoint, under the key "cue":
{"config": ReaderConfig dict, "model": state dict, "threshold": float, "meta": dict}."""

from __future__ import annotations

from pathlib import Path

from nbduplex.model.cue.data import CLASSES, OUTPUT
from nbduplex.model.reader.network import ReaderNet
from nbduplex.model.window_classifier import load_entry, save_entry

KEY = "cue"


def save_cue(checkpoint: str | Path, net: ReaderNet, threshold: float, meta: dict) -> Path:
    """Put the spotter into an existing checkpoint (replacing any it had), atomically."""
    return save_entry(checkpoint, KEY, net, threshold, meta)


def load_cue(ckpt: dict) -> tuple[ReaderNet, float] | None:
    """(network in float32 eval mode, threshold) from a checkpoint dict; None without one."""
    return load_entry(ckpt, KEY, {OUTPUT: len(CLASSES)})
