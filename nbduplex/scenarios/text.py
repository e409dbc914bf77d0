"""Built-in word lists and sentence templates for scenario speech (nothing is downloaded).

Every function takes a numpy Generator, so content is a pure function of the seed.
Mid-turn fragments end with a comma or a filler (continuation intonation: the user keeps the
turn); turn-final sentences end with a full stop or a question mark.
"""

from __future__ import annotations

import numpy as np

PLACES = ["the park", "the market", "my office", "the station", "the library", "the beach",
          "the old bakery", "my sister's flat", "the garden centre", "the museum"]  # fmt: skip
PEOPLE = ["my brother", "a friend", "my neighbour", "our teacher", "my aunt", "the manager",
          "two colleagues", "my cousin", "the new intern", "my grandmother"]  # fmt: skip
THINGS = ["a bicycle", "some coffee", "the tickets", "a blue umbrella", "fresh bread",
          "the keys", "an old camera", "a map", "the report", "a small plant"]  # fmt: skip
TIMES = ["yesterday", "last week", "this morning", "on Sunday", "after lunch", "last night",
         "a few days ago", "on my birthday"]  # fmt: skip
VERBS = ["visited", "walked to", "drove past", "waited at", "cleaned", "photographed",
         "looked around", "got lost near"]  # fmt: skip
BASE_VERBS = ["visit", "walk to", "drive past", "wait at", "clean", "photograph", "look around"]
FILLERS = ["um", "uh", "er", "hmm", "you know", "like", "well"]
OPENERS = ["so", "well", "okay so", "right", "anyway", "honestly", "actually"]
CONNECTIVES = ["and", "but", "because", "so", "and then", "which meant that", "although"]
QUESTIONS = [
    "what do you think about that?",
    "can you help me plan the rest of the day?",
    "does that sound like a good idea to you?",
    "how would you handle it?",
    "what should I do next?",
    "is that normal?",
    "could you remind me later?",
]
# Answers at a turn end are full sentences (>= 4 words, >= 1 s spoken): FD-bench counts a
# turn as taken only for model speech >= 1 s or > 3 words. Back-channels stay short.
REPLIES = ["Okay, I see what you mean.", "That sounds like a good plan.",
           "Sure, tell me a bit more.", "Got it, thanks for telling me.",
           "I understand, that makes sense.", "That makes a lot of sense.",
           "Right, please go on then."]  # fmt: skip
BACKCHANNELS = ["mm-hm", "yeah", "right", "uh-huh", "okay", "I see"]
YIELD_REPLIES = ["Sorry, please go ahead then.", "Oh, okay, I am listening.",
                 "Sure, take your time, go on."]  # fmt: skip
INTERRUPTIONS = [
    "wait, actually, I meant the other one.",
    "sorry, no, hold on a second.",
    "no no, that's not what I asked.",
    "hang on, let me finish.",
    "stop, I changed my mind.",
    "sorry, can I add something?",
]
CUE_WORDS = ["banana", "purple", "elephant", "window", "rocket", "pepper", "giraffe", "lemon",
             "tiger", "violin", "mountain", "pickle"]  # fmt: skip
SAY_WORDS = ["go", "stop", "now", "tick", "ping", "hello", "yes", "beep", "ready", "done"]
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine", "ten", "eleven", "twelve"]  # fmt: skip
SHAPE_NAMES = {"circle": "circle", "square": "square", "triangle": "triangle"}
COLOR_NAMES = ["red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white"]


def pick(rng: np.random.Generator, items: list[str]) -> str:
    """One item, uniformly."""
    return items[int(rng.integers(len(items)))]


def clause(rng: np.random.Generator) -> str:
    """A plain statement clause without final punctuation."""
    forms = [
        lambda: f"{pick(rng, TIMES)} I {pick(rng, VERBS)} {pick(rng, PLACES)}",
        lambda: f"{pick(rng, PEOPLE)} brought {pick(rng, THINGS)} to {pick(rng, PLACES)}",
        lambda: f"I was looking for {pick(rng, THINGS)} {pick(rng, TIMES)}",
        lambda: f"we met {pick(rng, PEOPLE)} at {pick(rng, PLACES)}",
        lambda: f"{pick(rng, PEOPLE)} said the weather would be fine",
        lambda: f"it took much longer than I expected to find {pick(rng, THINGS)}",
    ]
    return forms[int(rng.integers(len(forms)))]()


def cap(s: str) -> str:
    """First letter upper-case."""
    return s[:1].upper() + s[1:]


def continuing_fragment(rng: np.random.Generator) -> str:
    """A fragment after which the user pauses but keeps the turn ("..., and um,")."""
    base = clause(rng)
    end = rng.random()
    if end < 0.35:
        return f"{base}, {pick(rng, CONNECTIVES)}, {pick(rng, FILLERS[:3])},"
    if end < 0.7:
        return f"{base} {pick(rng, CONNECTIVES)},"
    return f"{pick(rng, OPENERS)}, {pick(rng, FILLERS[:3])}, {base},"


def final_sentence(rng: np.random.Generator) -> str:
    """A turn-final sentence: a statement or a question."""
    if rng.random() < 0.5:
        return cap(pick(rng, QUESTIONS))
    return cap(f"{clause(rng)}.")


def cutoff_pair(rng: np.random.Generator) -> tuple[str, str]:
    """(a clause whose last word will be cut off, the restart that follows it)."""
    start = f"I was going to {pick(rng, BASE_VERBS)} {pick(rng, PLACES)}"
    restart = f"I mean, {clause(rng)},"
    return start, restart


def narrative(rng: np.random.Generator, n: int) -> list[str]:
    """n clauses of a story, each ending with a comma (back-channel points between them)."""
    out = [f"{cap(pick(rng, OPENERS))}, {clause(rng)},"]
    out += [f"{pick(rng, CONNECTIVES)} {clause(rng)}," for _ in range(n - 1)]
    out[-1] = out[-1].rstrip(",") + "."
    return out


def article(word: str) -> str:
    """'a' or 'an' for `word`."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def number_word(n: int) -> str:
    """0-12 as a word, larger numbers as digits."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def arithmetic(rng: np.random.Generator) -> tuple[str, str, str]:
    """(spoken question, task expression, answer) for a delegation request."""
    op = pick(rng, ["times", "plus", "minus", "divided by"])
    if op == "times":
        a, b = int(rng.integers(11, 60)), int(rng.integers(11, 40))
        expr, ans = f"{a} * {b}", a * b
    elif op == "plus":
        a, b = int(rng.integers(100, 900)), int(rng.integers(100, 900))
        expr, ans = f"{a} + {b}", a + b
    elif op == "minus":
        a = int(rng.integers(500, 1000))
        b = int(rng.integers(100, a))
        expr, ans = f"{a} - {b}", a - b
    else:
        b, q = int(rng.integers(3, 20)), int(rng.integers(11, 60))
        a = b * q
        expr, ans = f"{a} / {b}", q
    lead = pick(rng, ["what is", "can you work out", "quick question, what's", "how much is"])
    return f"{cap(lead)} {a} {op} {b}?", expr, str(ans)
