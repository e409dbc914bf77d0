"""The Policy protocol and resolving a policy by name (`model`, a preset, or `module:attr`)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, runtime_checkable

from nbduplex.decision import Decision
from nbduplex.microturn import MicroTurn


@runtime_checkable
class Policy(Protocol):
    """Anything that decides, micro-turn by micro-turn, what to do.

    `reset()` starts a new session; `step(turn)` sees one micro-turn (and everything before it)
    and returns a `Decision`. A step must not look at future input. To plug in your own model,
    write a class with these two methods and pass it, or `module:attr`, wherever a policy goes.
    """

    name: str

    def reset(self) -> None: ...

    def step(self, turn: MicroTurn) -> Decision: ...


class PolicyError(ValueError):
    """A policy name or object that cannot be used."""


def policy_names() -> list[str]:
    """The built-in policy names usable on the command line."""
    from nbduplex.policies import PRESETS

    names = sorted(PRESETS)
    try:
        from nbduplex.model import checkpoint_available

        if checkpoint_available():
            names.insert(0, "model")
    except ImportError:
        pass
    return names


def resolve_policy(spec: str | Policy, **options) -> Policy:
    """A policy from a name: `model`, a cascade preset (see `policy_names()`), `module:attr`,
    or the path of a model checkpoint (`*.pt`, e.g. your own from `nbduplex train`).

    `module:attr` may name a Policy instance, a class or a zero-argument factory.
    """
    if not isinstance(spec, str):
        if isinstance(spec, Policy):
            return spec
        raise PolicyError(f"{spec!r} is not a Policy (needs reset() and step(turn))")
    if spec == "model":
        from nbduplex.model import load_policy

        return load_policy(**options)
    if spec.endswith(".pt"):
        from nbduplex.model import load_policy
        from nbduplex.model.checkpoint import CheckpointError

        if not Path(spec).is_file():
            raise PolicyError(f"no model checkpoint at {spec}")
        try:
            return load_policy(spec, **options)
        except CheckpointError as e:
            raise PolicyError(str(e)) from e
    from nbduplex.policies import PRESETS, make_preset

    if spec in PRESETS:
        return make_preset(spec, **options)
    if ":" in spec:
        mod_name, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(mod_name), attr)
        except (ImportError, AttributeError) as e:
            raise PolicyError(f"cannot load policy {spec!r}: {e}") from e
        if isinstance(obj, type) or (callable(obj) and not isinstance(obj, Policy)):
            obj = obj(**options)
        if not isinstance(obj, Policy):
            raise PolicyError(f"{spec!r} is not a Policy (needs name, reset() and step(turn))")
        return obj
    raise PolicyError(f"unknown policy {spec!r}; choose one of: {', '.join(policy_names())}")
