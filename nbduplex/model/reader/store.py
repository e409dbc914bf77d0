"""The reader lives inside the interaction-model checkpoint, under the key "reader":
{"config": ReaderConfig dict, "model": state dict, "threshold": float, "meta": dict}."""

from __future__ import annotations

from pathlib import Path

import torch

from nbduplex.model.reader.network import ReaderConfig, ReaderNet


def reader_entry(net: ReaderNet, threshold: float, meta: dict) -> dict:
    """The checkpoint entry for a trained reader (weights stored in float16: half the size)."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    return {"config": net.config.to_dict(), "model": state, "threshold": threshold, "meta": meta}


def save_reader(checkpoint: str | Path, net: ReaderNet, threshold: float, meta: dict) -> Path:
    """Put the reader into an existing checkpoint (replacing any reader it had), atomically."""
    from nbduplex.model.checkpoint import read_checkpoint

    path = Path(checkpoint)
    ckpt = read_checkpoint(path)
    ckpt["reader"] = reader_entry(net, threshold, meta)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)
    return path


def load_reader(ckpt: dict) -> tuple[ReaderNet, float] | None:
    """(network in float32 eval mode, threshold) from a checkpoint dict; None without a reader."""
    entry = ckpt.get("reader")
    if not entry:
        return None
    net = ReaderNet(ReaderConfig(**entry["config"]))
    net.load_state_dict({k: v.float() if v.is_floating_point() else v
                         for k, v in entry["model"].items()})  # fmt: skip
    return net.eval(), float(entry["threshold"])
