"""The interaction model: an early-fusion streaming transformer over 200 ms micro-turns.

    from nbduplex.model import load_model, load_policy
    model = load_model()                  # the shipped checkpoint (MODEL_CARD.md)
    policy = load_policy(eagerness=0.7)   # a Policy for the session loop ("--policy model")

    with model.streaming(batch_size=2):   # several sessions stepped together
        out = model.step(inputs)          # TurnInputs with T == 1 -> ModelOutput
        model.reset_sessions([1])         # row 1 starts a new session; row 0 goes on

Training: `nbduplex train` / `nbduplex.model.train.train(TrainConfig(...))`; the
spoken-instruction reader, the turn-end detector and the cue spotter that the policy runs
alongside: `nbduplex.model.reader` (`nbduplex train-reader`), `nbduplex.model.turn_end`
(`nbduplex train-turn-end`), `nbduplex.model.cue` (`nbduplex train-cue`);
evaluation: `nbduplex.model.evaluate.evaluate("model", "heldout")`.

Importing this package is cheap: torch loads on first use of anything but
`DEFAULT_CHECKPOINT` and `checkpoint_available` (so `nbduplex policies` stays fast).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbduplex.model.location import DEFAULT_CHECKPOINT, checkpoint_available

if TYPE_CHECKING:
    from nbduplex.model.checkpoint import CheckpointError, load_model, save_checkpoint
    from nbduplex.model.config import ModelConfig, tiny_config
    from nbduplex.model.inputs import TurnInputs
    from nbduplex.model.model import InteractionModel, ModelOutput
    from nbduplex.model.policy import InteractionModelPolicy

_LAZY = {
    "CheckpointError": "checkpoint",
    "load_model": "checkpoint",
    "save_checkpoint": "checkpoint",
    "ModelConfig": "config",
    "tiny_config": "config",
    "TurnInputs": "inputs",
    "InteractionModel": "model",
    "ModelOutput": "model",
    "InteractionModelPolicy": "policy",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"nbduplex.model.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'nbduplex.model' has no attribute {name!r}")


def load_policy(
    path: str | Path | None = None, device: str | None = None, **options
) -> InteractionModelPolicy:
    """An `InteractionModelPolicy` on a checkpoint (default: the shipped one).

    `options`: eagerness (0..1), do_not_interrupt (bool), attribution (bool), cpu_threads
    (torch intra-op threads on the CPU, default 1; None leaves torch's setting alone), words
    ("auto", "decoder": the byte decoder, "head": the word head), read_instructions (bool:
    let the checkpoint's spoken-instruction reader hand the model what it hears, default on),
    hold_in_pauses (bool: let the checkpoint's turn-end detector hold answers while the user only
    pauses, default on), pending_turns (how long a held answer waits, in micro-turns),
    spot_cues (bool: let the checkpoint's cue spotter say the instructed word when it hears a
    CueSpeak cue, default on), acknowledgement (said when delegating; "" for none),
    answer_silence_turns (answer unanswered user speech after this many silent micro-turns;
    default `unanswered.SILENCE_ANSWER_TURNS` = 9, 1.8 s; 0 never answers a silence).
    """
    from nbduplex.model.checkpoint import load_model
    from nbduplex.model.policy import InteractionModelPolicy

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
