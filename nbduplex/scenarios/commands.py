"""The instruction grammar: what a user may ask for, as slots, and its typed and spoken forms.

Scenario kinds (kinds.py) word their instructions through `Command.typed` / `Command.spoken`,
and the spoken-instruction reader (nbduplex.model.reader) predicts a `Command` from audio and
hands the interaction model its typed form, so both sides share one grammar.

    Command("in", word="go", number=5).typed    -> "say go in 5 seconds"
    Command("in", word="go", number=5).spoken   -> "say go in five seconds."
    parse("say tick every 3 seconds")           -> Command("every", word="tick", number=3)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nbduplex.scenarios.text import CUE_WORDS, NUMBER_WORDS, SAY_WORDS
from nbduplex.scenarios.video import COLORS, SHAPES

# "none" is not an instruction (the reader's rejection class); the others are templates
TEMPLATES = ("none", "in", "every", "when", "appears", "count")
NUMBERS = tuple(range(2, 9))  # "in" uses 3-8 seconds, "every" 2-5
COLOR_WORDS = tuple(COLORS)
SHAPE_WORDS = tuple(SHAPES)
# which slots each template fills
SLOTS = {
    "none": (),
    "in": ("word", "number"),
    "every": ("word", "number"),
    "when": ("word", "cue"),
    "appears": (),
    "count": ("color", "shape"),
}
VOCAB = {
    "word": tuple(SAY_WORDS),
    "number": NUMBERS,
    "cue": tuple(CUE_WORDS),
    "color": COLOR_WORDS,
    "shape": SHAPE_WORDS,
}


@dataclass(frozen=True)
class Command:
    """One instruction: a template and the slots it needs."""

    template: str
    word: str = ""
    number: int = 0
    cue: str = ""
    color: str = ""
    shape: str = ""

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise ValueError(f"unknown template {self.template!r}; one of {TEMPLATES}")
        for slot in SLOTS[self.template]:
            if getattr(self, slot) not in VOCAB[slot]:
                raise ValueError(f"{self.template!r} needs {slot} in {VOCAB[slot]}")

    @property
    def typed(self) -> str:
        """The instruction as the user types it ('' for "none")."""
        return self._form(str(self.number))

    @property
    def spoken(self) -> str:
        """The instruction as the user says it (numbers as words, a full stop)."""
        form = self._form(NUMBER_WORDS[self.number] if self.number else "")
        return f"{form}." if form else ""

    def _form(self, n: str) -> str:
        return {
            "none": "",
            "in": f"say {self.word} in {n} seconds",
            "every": f"say {self.word} every {n} seconds",
            "when": f"say {self.word} when I say {self.cue}",
            "appears": "tell me when something appears",
            "count": f"count the jumps of the {self.color} {self.shape}",
        }[self.template]


_PATTERNS = {
    "in": r"say (?P<word>\w+) in (?P<number>\w+) seconds",
    "every": r"say (?P<word>\w+) every (?P<number>\w+) seconds",
    "when": r"say (?P<word>\w+) when i say (?P<cue>\w+)",
    "appears": r"tell me when something appears",
    "count": r"count the jumps of the (?P<color>\w+) (?P<shape>\w+)",
}


def _number(s: str) -> int:
    return int(s) if s.isdigit() else NUMBER_WORDS.index(s) if s in NUMBER_WORDS else -1


def parse(typed: str) -> Command | None:
    """The Command a typed or spoken instruction expresses (None when outside the grammar)."""
    s = " ".join(typed.lower().strip().rstrip(".!").split())
    for template, pattern in _PATTERNS.items():
        m = re.fullmatch(pattern, s)
        if m:
            slots = {k: (_number(v) if k == "number" else v) for k, v in m.groupdict().items()}
            try:
                return Command(template, **slots)
            except ValueError:
                return None
    return None
