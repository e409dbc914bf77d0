"""Scripted policies for tests and demos: "frames in, frames out" with known decisions.

`ScriptedPolicy(script)` acts only at the micro-turns its script names and listens otherwise.
A script maps a key to an action:

- keys: an `int` is a micro-turn `seq`; a `float` is a stream time in seconds, taken as the
  micro-turn that contains it (seq = floor(t / 0.2 + 1e-9)). Two keys for one seq are an error.
- values: an action name or `Action` ("respond"), a tuple `(action, text)` or
  `(action, text, task)`, a dict with `action` and optional `text`, `task`, `info`, or a
  `Decision` (copied at each use, so the session may fill in `step_ms`).

`SilentPolicy()` always listens (the null baseline: it never takes the turn).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import Any

from nbduplex.decision import Action, Decision
from nbduplex.microturn import MICROTURN_S, MicroTurn

ScriptValue = str | Action | Decision | tuple | Mapping[str, Any]


def _seq_of(key: int | float) -> int:
    if isinstance(key, bool):
        raise TypeError(f"script key must be a seq (int) or a time (float), got {key!r}")
    if isinstance(key, int):
        seq = key
    elif isinstance(key, float):
        if not math.isfinite(key):
            raise ValueError(f"script time must be finite, got {key}")
        seq = math.floor(key / MICROTURN_S + 1e-9)
    else:
        raise TypeError(f"script key must be a seq (int) or a time (float), got {key!r}")
    if seq < 0:
        raise ValueError(f"script key {key!r} is before the start of the stream")
    return seq


def _decision_of(value: ScriptValue) -> Decision:
    if isinstance(value, Decision):
        return copy.deepcopy(value)
    if isinstance(value, str | Action):
        return Decision(Action(value))
    if isinstance(value, tuple):
        if not 1 <= len(value) <= 3:
            raise ValueError(f"script tuple must be (action[, text[, task]]), got {value!r}")
        action, text, task = (*value, "", None)[:3]
        return Decision(Action(action), text=text or "", task=task)
    if isinstance(value, Mapping):
        extra = set(value) - {"action", "text", "task", "info"}
        if "action" not in value or extra:
            raise ValueError(f"script dict needs 'action' (and text/task/info only), got {value!r}")
        return Decision(
            Action(value["action"]),
            text=value.get("text", "") or "",
            task=value.get("task"),
            info=dict(value.get("info", {})),
        )
    raise TypeError(f"cannot make a decision from {value!r}")


class ScriptedPolicy:
    """Plays a script of decisions keyed by seq (int) or time (float); listens elsewhere."""

    def __init__(
        self,
        script: Mapping[int | float, ScriptValue] | Iterable[tuple[int | float, ScriptValue]],
        name: str = "scripted",
    ) -> None:
        items = script.items() if isinstance(script, Mapping) else script
        self.script: dict[int, Decision] = {}
        for key, value in items:
            seq = _seq_of(key)
            if seq in self.script:
                raise ValueError(f"two script entries for micro-turn {seq} (key {key!r})")
            decision = _decision_of(value)  # validate now, not mid-session
            decision.info.setdefault("scripted", True)
            self.script[seq] = decision
        self.name = name
        self.steps = 0

    def reset(self) -> None:
        """Start again (the script itself is stateless; only the step counter resets)."""
        self.steps = 0

    def step(self, turn: MicroTurn) -> Decision:
        """The scripted decision for `turn.seq`, or LISTEN."""
        self.steps += 1
        if turn.seq in self.script:
            return copy.deepcopy(self.script[turn.seq])
        return Decision(Action.LISTEN)

    def __repr__(self) -> str:
        return f"ScriptedPolicy({len(self.script)} entries)"


class SilentPolicy:
    """Never speaks: LISTEN on every micro-turn."""

    name = "silent"

    def reset(self) -> None:
        """Nothing to reset."""

    def step(self, turn: MicroTurn) -> Decision:
        """Always LISTEN."""
        return Decision(Action.LISTEN)
