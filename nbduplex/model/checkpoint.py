"""Saving and loading interaction-model checkpoints (the shipped one and training ones).

A checkpoint is a `torch.save`d dict: "config" (ModelConfig.to_dict()), "model" (state dict),
"meta" (how it was trained: steps, data, wall time, ...), optionally "reader" (the spoken-
instruction reader, reader/store.py), "turn_end" (the turn-end detector, turn_end/store.py) and
"cue" (the cue spotter, cue/store.py), and for training checkpoints also "optimizer",
"scheduler", "step" and "rng" so training resumes exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from nbduplex.model.config import ModelConfig
from nbduplex.model.cue.store import load_cue
from nbduplex.model.location import DEFAULT_CHECKPOINT, checkpoint_available  # noqa: F401
from nbduplex.model.model import InteractionModel
from nbduplex.model.reader.store import load_reader
from nbduplex.model.turn_end.store import load_turn_end


class CheckpointError(RuntimeError):
    """A checkpoint is missing or unreadable."""


def default_device() -> torch.device:
    """CUDA when present, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def save_checkpoint(path: str | Path, model: InteractionModel, **extra: Any) -> Path:
    """Write config + weights (+ anything in `extra`, e.g. meta, optimizer, step) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"config": model.config.to_dict(), "model": model.state_dict(), **extra}
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def read_checkpoint(path: str | Path | None = None) -> dict:
    """The raw checkpoint dict (on the CPU)."""
    path = Path(path or DEFAULT_CHECKPOINT)
    if not path.is_file():
        raise CheckpointError(
            f"no model checkpoint at {path}; train one with `nbduplex train` (see MODEL_CARD.md)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e


def load_model(
    path: str | Path | None = None, device: str | torch.device | None = None
) -> InteractionModel:
    """The interaction model from a checkpoint (default: the shipped one), in eval mode."""
    ckpt = read_checkpoint(path)
    try:
        model = InteractionModel(ModelConfig.from_dict(ckpt["config"]))
        missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
        if unexpected or any(not k.startswith("byte_decoder.") for k in missing):
            model.load_state_dict(ckpt["model"])  # raises with the full list
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path or DEFAULT_CHECKPOINT} does not fit: {e}") from e
    model.meta = dict(ckpt.get("meta", {}))  # type: ignore[attr-defined]
    # the spoken-instruction reader, the turn-end detector and the cue spotter (they stay on the
    # CPU: they read a second or a few of audio at a time)
    for name, load in (("reader", load_reader), ("turn_end", load_turn_end), ("cue", load_cue)):
        try:
            setattr(model, name, load(ckpt))
        except (KeyError, RuntimeError, TypeError, ValueError) as e:
            raise CheckpointError(
                f"the {name} in {path or DEFAULT_CHECKPOINT} does not fit: {e}"
            ) from e
    if missing:  # a checkpoint from before the byte decoder: words come from the word head
        model.meta["byte_decoder"] = False
    return model.to(device or default_device()).eval()
