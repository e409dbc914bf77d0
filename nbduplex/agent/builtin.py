"""Built-in tools: a safe calculator, a clock, a timer and BM25 search over the user's documents.

The calculator never calls `eval`: it parses the expression with `ast` and evaluates only
numbers, + - * / // % ** (and ^ as power, as people type it), parentheses, a few constants and
math functions, in floating point, with limits on length, exponents and magnitude.
"""

from __future__ import annotations

import ast
import asyncio
import math
import operator
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from nbduplex.agent.tools import ToolRegistry, tool

MAX_EXPRESSION_CHARS = 300  # longer expressions are refused (deep nesting, resource use)
MAX_EXPONENT = 1000.0  # |exponent| above this is refused
MAX_TIMER_S = 3600.0  # seconds; the longest timer

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitXor: operator.pow,  # "2^10" means a power to anyone typing a sum
}
_UNARY: dict[type, Callable[[float], float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "exp": math.exp,
    "log": math.log,
    "ln": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "min": min,
    "max": max,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ValueError(f"not a number: {node.value!r}")
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, (ast.Pow, ast.BitXor)) and abs(b) > MAX_EXPONENT:
            raise ValueError(f"exponent {b:g} is too large (limit {MAX_EXPONENT:g})")
        if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and b == 0:
            raise ValueError("division by zero")
        return _finite(_BINARY[type(node.op)](a, b))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and 1 <= len(node.args) <= 8
    ):
        args = [_evaluate(a) for a in node.args]
        try:
            value = _FUNCTIONS[node.func.id](*args)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{node.func.id}(): {e}") from None
        return _finite(float(value))
    what = type(node).__name__
    if isinstance(node, ast.Name):
        what = f"name {node.id!r}"
    elif isinstance(node, ast.Call):
        what = "this function call"
    raise ValueError(f"{what} is not allowed in a calculation")


def _finite(x: float | complex) -> float:
    if isinstance(x, complex):  # e.g. (-8) ** (1/3)
        raise ValueError("the result is not a real number")
    if not math.isfinite(x):
        raise ValueError("the result is too large")
    return x


def calculator(expression: str) -> float:
    """Evaluate an arithmetic expression, e.g. "17 * 23" or "sqrt(2) ** 2 + 10 % 3".

    Args:
        expression: numbers, + - * / // % ** ^ (power), parentheses, pi, e and the functions
            sqrt abs round floor ceil exp log ln log10 log2 sin cos tan min max
    """
    if not isinstance(expression, str):
        raise TypeError(f"expression must be a string, got {type(expression).__name__}")
    text = expression.strip().replace("×", "*").replace("÷", "/").replace("−", "-")
    if not text:
        raise ValueError("empty expression")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ValueError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(f"cannot parse {expression!r} as arithmetic") from None
    try:
        return _evaluate(tree)
    except OverflowError:
        raise ValueError("the result is too large") from None
    except RecursionError:
        raise ValueError("expression nested too deeply") from None


def clock() -> str:
    """The current local date and time."""
    now = datetime.now().astimezone()
    return now.strftime("%H:%M:%S %Z on %A %d %B %Y").replace("  ", " ")


@tool(timeout=MAX_TIMER_S + 5.0)
async def timer(seconds: float, message: str = "") -> str:
    """Wait `seconds`, then return a reminder (e.g. "remind me in 5 seconds to stretch").

    Args:
        seconds: how long to wait, 0 to 3600
        message: what to remind the user of
    """
    if not 0 <= seconds <= MAX_TIMER_S:
        raise ValueError(f"seconds must be between 0 and {MAX_TIMER_S:g}, got {seconds!r}")
    await asyncio.sleep(seconds)
    if message:
        return f"Reminder: {message}"
    return f"{seconds:g} seconds are up"


# -- documents ------------------------------------------------------------------------------------
_STOPWORDS = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "how", "i")
    + ("in", "is", "it", "me", "my", "of", "on", "or", "the", "this", "to", "was", "what")
    + ("when", "where", "which", "who", "why", "with", "you", "your")
)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without the most common English function words."""
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class Passage:
    """A piece of a registered document (documents are split into passages of ~60 words)."""

    document: str
    text: str


class DocumentIndex:
    """BM25 (Okapi) search over documents the user registers; thread-safe.

    Documents are split into passages (paragraphs, long ones into ~60-word pieces) so a hit
    returns a sentence-sized answer rather than a whole file.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75, passage_words: int = 60) -> None:
        self.k1 = k1  # term-frequency saturation
        self.b = b  # length normalisation, 0..1
        self.passage_words = passage_words
        self._lock = threading.Lock()
        self._docs: dict[str, str] = {}
        self._passages: list[Passage] = []
        self._tfs: list[Counter[str]] = []
        self._df: Counter[str] = Counter()

    def add(self, name: str, text: str) -> None:
        """Register (or replace) document `name`."""
        if not isinstance(name, str) or not name:
            raise ValueError("a document needs a non-empty name")
        if not isinstance(text, str):
            raise TypeError(f"document text must be a string, got {type(text).__name__}")
        with self._lock:
            self._docs[name] = text
            self._rebuild()

    def remove(self, name: str) -> None:
        with self._lock:
            self._docs.pop(name, None)
            self._rebuild()

    def __len__(self) -> int:
        return len(self._docs)

    @property
    def names(self) -> list[str]:
        return list(self._docs)

    def _rebuild(self) -> None:
        self._passages = [
            Passage(name, piece) for name, text in self._docs.items() for piece in self._split(text)
        ]
        self._tfs = [Counter(tokenize(p.text)) for p in self._passages]
        self._df = Counter(w for tf in self._tfs for w in tf)

    def _split(self, text: str) -> list[str]:
        pieces: list[str] = []
        for para in re.split(r"\n\s*\n", text):
            words = para.split()
            for i in range(0, len(words), self.passage_words):
                pieces.append(" ".join(words[i : i + self.passage_words]))
        return [p for p in pieces if p]

    def search(self, query: str, k: int = 3) -> list[tuple[Passage, float]]:
        """The `k` best passages for `query` with their BM25 scores (only scores > 0)."""
        terms = tokenize(query)
        with self._lock:
            n = len(self._passages)
            if not n or not terms or k <= 0:
                return []
            lengths = [sum(tf.values()) for tf in self._tfs]
            avg = max(sum(lengths) / n, 1e-9)
            scores = []
            for tf, length in zip(self._tfs, lengths, strict=True):
                s = 0.0
                for w in terms:
                    f = tf.get(w, 0)
                    if f:
                        idf = math.log(1.0 + (n - self._df[w] + 0.5) / (self._df[w] + 0.5))
                        s += (
                            idf
                            * f
                            * (self.k1 + 1)
                            / (f + self.k1 * (1 - self.b + self.b * length / avg))
                        )
                scores.append(s)
            order = sorted(range(n), key=lambda i: -scores[i])[:k]
            return [(self._passages[i], scores[i]) for i in order if scores[i] > 0]

    def search_documents(self, query: str, k: int = 3) -> str:
        """Search the user's registered documents for a question or keywords.

        Args:
            query: the question or keywords to look for
            k: how many passages to return at most
        """
        hits = self.search(query, max(1, min(int(k), 10)))
        if not hits:
            return f"No document mentions {query!r}."
        return "\n".join(f"[{p.document}] {p.text}" for p, _ in hits)


def builtin_tools(documents: DocumentIndex | None = None, timeout: float = 10.0) -> ToolRegistry:
    """A registry with calculator, clock, timer and (with `documents`) search_documents."""
    registry = ToolRegistry(timeout=timeout)
    registry.register(calculator)
    registry.register(clock)
    registry.register(timer)
    if documents is not None:
        registry.register(documents.search_documents, name="search_documents")
    return registry
