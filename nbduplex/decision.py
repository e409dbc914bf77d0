"""What a policy decides each micro-turn: the action, why, and what it says."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Action(str, Enum):
    """The action taken in one micro-turn."""

    LISTEN = "listen"  # stay quiet (or keep saying what was already started)
    RESPOND = "respond"  # take the turn and answer
    BACKCHANNEL = "backchannel"  # a short "mm-hm" without taking the turn
    INTERJECT = "interject"  # speak up while the user holds the turn (cue, time, visual event)
    YIELD = "yield"  # stop speaking now (barge-in)
    DELEGATE = "delegate"  # hand a task to the background agent

    def __str__(self) -> str:
        return self.value


ACTIONS: tuple[str, ...] = tuple(a.value for a in Action)
SPEECH_ACTIONS = frozenset({Action.RESPOND, Action.BACKCHANNEL, Action.INTERJECT})


@dataclass(slots=True)
class Decision:
    """A policy's output for one micro-turn.

    `probs` maps action names to probabilities (a one-hot for rule-based policies);
    `attribution` maps a driver (e.g. "audio", "audio[-0.6s,0s]", "video", "text") to its share
    of the decision, for the inspector; `step_ms` is filled in by the session loop.
    """

    action: Action = Action.LISTEN
    probs: dict[str, float] = field(default_factory=dict)
    text: str = ""  # words the model starts saying at t + 0.2 ("" if none; a DELEGATE may
    # carry an acknowledgement such as "Let me check that." to say while the agent works)
    task: str | None = None  # the task handed to the background agent, for DELEGATE
    attribution: dict[str, float] = field(default_factory=dict)
    step_ms: float = 0.0
    info: dict[str, float | str | bool] = field(default_factory=dict)  # policy-specific extras

    def __post_init__(self) -> None:
        self.action = Action(self.action)
        if not self.probs:
            self.probs = {a: float(a == self.action.value) for a in ACTIONS}
