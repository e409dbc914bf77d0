"""The interaction model: an early-fusion streaming transformer over 200 ms micro-turns.

    from nbduplex.model import load_model, load_policy
    model = load_model()                  # the shipped checkpoint (MODEL_CARD.md)
    policy = load_policy(eagerness=0.7)   # a Policy for the session loop ("--policy model")

    with model.streaming(batch_size=2):   # several sessions stepped together
        out = model.step(inputs)          # TurnInputs with T == 1 -> ModelOutput

Training: `nbduplex train` / `nbduplex.model.train.train(TrainConfig(...))`;
evaluation: `nbduplex.model.evaluate.evaluate("model", "heldout")`.
"""

from __future__ import annotations

from pathlib import Path

from nbduplex.model.checkpoint import (
    DEFAULT_CHECKPOINT,
    CheckpointError,
    checkpoint_available,
    load_model,
    save_checkpoint,
)
from nbduplex.model.config import ModelConfig, tiny_config
from nbduplex.model.inputs import TurnInputs
from nbduplex.model.model import InteractionModel, ModelOutput
from nbduplex.model.policy import InteractionModelPolicy


def load_policy(
    path: str | Path | None = None, device: str | None = None, **options
) -> InteractionModelPolicy:
    """An `InteractionModelPolicy` on a checkpoint (default: the shipped one).

    `options`: eagerness (0..1), do_not_interrupt (bool), attribution (bool).
    """
    return InteractionModelPolicy(load_model(path, device), **options)


__all__ = [
    "DEFAULT_CHECKPOINT",
    "CheckpointError",
    "InteractionModel",
    "InteractionModelPolicy",
    "ModelConfig",
    "ModelOutput",
    "TurnInputs",
    "checkpoint_available",
    "load_model",
    "load_policy",
    "save_checkpoint",
    "tiny_config",
]
