"""The turn-end detector lives inside the interaction-model checkpoint, under the key
"turn_end": {"config": ReaderConfig dict, "model": state dict, "threshold": float, "meta": dict}."""

from __future__ import annotations

from pathlib import Path

import torch

from nbduplex.model.reader.network import ReaderConfig, ReaderNet
from nbduplex.model.reader.store import reader_entry
from nbduplex.model.turn_end.data import OUTPUTS

KEY = "turn_end"


def save_turn_end(checkpoint: str | Path, net: ReaderNet, threshold: float, meta: dict) -> Path:
    """Put the detector into an existing checkpoint (replacing any it had), atomically."""
    from nbduplex.model.checkpoint import read_checkpoint

    path = Path(checkpoint)
    ckpt = read_checkpoint(path)
    ckpt[KEY] = reader_entry(net, threshold, meta)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    return path


def load_turn_end(ckpt: dict) -> tuple[ReaderNet, float] | None:
    """(network in float32 eval mode, threshold) from a checkpoint dict; None without one."""
    entry = ckpt.get(KEY)
    if not entry:
        return None
    net = ReaderNet(ReaderConfig(**entry["config"]), OUTPUTS)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v
                         for k, v in entry["model"].items()})  # fmt: skip
    return net.eval(), float(entry["threshold"])
