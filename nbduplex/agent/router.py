"""Routing a delegated task to a tool without an LLM, by rules.

"what is 17 times 23" or "(2+3)*4" -> calculator; "what time is it" -> clock; "in 5 seconds" or
"remind me ..." -> timer; anything else -> search_documents when documents are registered, else a
polite "I can't do that". Number words ("seventeen", "one hundred and five") and spoken
operators ("times", "divided by", "squared", "square root of", "percent of") are understood.

A router is any object with `name` and `async run(job: Job) -> Answer`; `OpenAIChatRouter` in
`llm.py` is the other one shipped.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nbduplex.agent.builtin import calculator
from nbduplex.agent.tools import ToolRegistry, ToolResult, format_value
from nbduplex.microturn import TextEvent

CallTool = Callable[[str, dict[str, Any]], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool to call and its arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Answer:
    """A router's final answer: `status` is "ok", "error", "timeout", "declined" (the router
    will not or cannot do it, e.g. a reminder without a time) or "unrouted" (no tool fits)."""

    text: str
    status: str = "ok"


@dataclass(slots=True)
class Job:
    """Everything a router gets for one task; `call` runs a tool and records a span."""

    task: str
    context: Sequence[TextEvent]  # the conversation so far, oldest first
    tools: ToolRegistry
    call: CallTool
    has_documents: bool = False


class Router(Protocol):
    """Turns a task into an answer, calling tools through `job.call`."""

    name: str

    async def run(self, job: Job) -> Answer: ...


# -- words to arithmetic --------------------------------------------------------------------------
_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_UNITS += ("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen")
_UNITS += ("eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}


def _word_value(token: str) -> int | None:
    parts = token.lower().split("-")  # "twenty-three"
    if all(p in _NUMBER_WORDS for p in parts):
        return sum(_NUMBER_WORDS[p] for p in parts)
    return None


def words_to_numbers(text: str) -> str:
    """Spelled-out numbers replaced by digits: "twenty three times four" -> "23 times 4"."""
    tokens = re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*|\S|\s+", text)
    out: list[str] = []
    total = current = 0
    last = ""  # "" (not in a number) | "unit" | "tens" | "scale"

    def flush() -> None:
        nonlocal total, current, last
        if last:
            out.append(str(total + current))
        total = current = 0
        last = ""

    for i, tok in enumerate(tokens):
        value, low = _word_value(tok), tok.lower()
        if value is not None:
            if last == "tens" and value < 10 or last == "scale":
                current += value  # "twenty three", "one hundred (and) five"
            else:
                flush()  # "two three" are two numbers
                if out and not out[-1].isspace() and tokens[i - 1].isspace():
                    out.append(tokens[i - 1])
                current = value
            last = "tens" if value >= 20 and value % 10 == 0 and "-" not in tok else "unit"
        elif low in _SCALES and last:
            if low == "hundred":
                current = max(current, 1) * 100
            else:
                total, current = total + max(current, 1) * _SCALES[low], 0
            last = "scale"
        elif last and (tok.isspace() or low == "and"):
            ahead = [t for t in tokens[i + 1 :] if not t.isspace()][:2]
            nxt = ahead[0] if ahead else ""
            if nxt.lower() == "and" and last == "scale" and low != "and":
                nxt = ahead[1] if len(ahead) > 1 else ""  # "hundred and five"
            joins = _word_value(nxt) is not None or nxt.lower() in _SCALES
            if not joins or (low == "and" and last != "scale"):
                flush()
                out.append(tok)
        else:
            flush()
            out.append(tok)
    flush()
    return "".join(out)


_PHRASES: list[tuple[str, str]] = [
    (r"\bsquare root of\s*(\d+(?:\.\d+)?)", r" sqrt(\1) "),
    (r"\b(\d+(?:\.\d+)?)\s*(?:percent|%)\s*of\b", r" \1/100*"),
    (r"\badd\s+(\d+(?:\.\d+)?)\s+(?:and|to)\s+(\d+(?:\.\d+)?)", r" \1 + \2 "),
    (r"\bsubtract\s+(\d+(?:\.\d+)?)\s+from\s+(\d+(?:\.\d+)?)", r" \2 - \1 "),
    (r"\bmultiply\s+(\d+(?:\.\d+)?)\s+(?:by|and|with)\s+(\d+(?:\.\d+)?)", r" \1 * \2 "),
    (r"\bdivide\s+(\d+(?:\.\d+)?)\s+by\s+(\d+(?:\.\d+)?)", r" \1 / \2 "),
    (r"\b(?:sum)\s+of\s+(\d+(?:\.\d+)?)\s+and\s+(\d+(?:\.\d+)?)", r" \1 + \2 "),
    (r"\b(?:product)\s+of\s+(\d+(?:\.\d+)?)\s+and\s+(\d+(?:\.\d+)?)", r" \1 * \2 "),
    (r"\b(?:raised\s+)?to\s+the\s+power\s+of\b|\braised\s+to\b", " ** "),
    (r"\bsquared\b", " ** 2 "),
    (r"\bcubed\b", " ** 3 "),
    (r"\bmultiplied\s+by\b|\btimes\b|(?<=\d)\s*[x×]\s*(?=\d)", " * "),
    (r"\bdivided\s+by\b|\bover\b|÷", " / "),
    (r"\bplus\b", " + "),
    (r"\bminus\b|−", " - "),
    (r"\bmod(?:ulo)?\b", " % "),
    (r"(?<=\d),(?=\d{3}\b)", ""),  # 1,000 -> 1000
]
_MATH_TOKEN = re.compile(
    r"\d+(?:\.\d+)?|\*\*|//|[-+*/%^(),]|sqrt|abs|round|floor|ceil|exp|log10|log2|log|ln|sin|cos"
    r"|tan|min|max|pi|[A-Za-z_]+|\S"
)
_IS_MATH = re.compile(
    r"\d+(?:\.\d+)?|\*\*|//|[-+*/%^(),]|sqrt|abs|round|floor|ceil|exp|log10|log2|log|ln|sin|cos"
    r"|tan|min|max|pi"
)


_TRAILING_JUNK = frozenset({"+", "-", "*", "/", "%", "^", "(", ",", "**", "//"})
_LEADING_JUNK = frozenset({"*", "/", "%", "^", ")", ",", "**", "//"})


def find_expression(text: str) -> str | None:
    """The arithmetic in `text` as an expression the calculator accepts, or None."""
    s = words_to_numbers(text)
    for pattern, repl in _PHRASES:
        s = re.sub(pattern, repl, s, flags=re.I)
    runs: list[list[str]] = [[]]
    for tok in _MATH_TOKEN.findall(s.lower()):
        if _IS_MATH.fullmatch(tok):
            runs[-1].append(tok)
        elif runs[-1]:
            runs.append([])
    best: str | None = None
    for run in runs:
        while run and run[-1] in _TRAILING_JUNK:  # a dangling operator ("... 4 -")
            run = run[:-1]
        while run and run[0] in _LEADING_JUNK:
            run = run[1:]
        has_digit = any(t[0].isdigit() for t in run)
        body = run[1:] if run and run[0] in ("-", "+") else run  # "minus 493" is just a number
        has_op = any(not t[0].isdigit() and t not in ("(", ")") for t in body)
        if not (has_digit and has_op):
            continue
        candidate = _tidy(" ".join(run))
        try:
            calculator(candidate)
        except ValueError as e:
            if "parse" in str(e) or "not allowed" in str(e):
                continue  # not arithmetic; a math error (1/0) is kept for the calculator to report
        if best is None or len(candidate) > len(best):
            best = candidate
    return best


def _tidy(expression: str) -> str:
    s = expression.replace("( ", "(").replace(" )", ")").replace(" ,", ",")
    s = re.sub(r"\b([a-z]\w*) \(", r"\1(", s)  # "sqrt (2" -> "sqrt(2"
    return re.sub(r"(^|[-+*/%^(,] )- (?=[\d(a-z])", r"\1-", s)  # unary minus: "* - 3" -> "* -3"


# -- the rules ------------------------------------------------------------------------------------
_DURATION = re.compile(
    r"\b(?:in|after|for)\s+(\d+(?:\.\d+)?|an?|one)\s*"
    r"(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h)\b",
    re.I,
)
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0}
_REMIND = re.compile(r"\bremind(?:\s+me)?\b|\btimer\b|\balarm\b", re.I)
_CLOCK = re.compile(
    r"\bwhat(?:'s|\s+is)?\s+the\s+(?:time|date)\b|\bwhat\s+time\b|\btime\s+is\s+it\b"
    r"|\bcurrent\s+(?:time|date)\b|\bwhat\s+day\b|\btoday'?s\s+date\b|\bclock\b",
    re.I,
)


def parse_timer(task: str) -> ToolCall | None:
    """A timer call for "remind me in 5 seconds to stretch" / "set a timer for 2 minutes"."""
    m = _DURATION.search(words_to_numbers(task))
    if m is None:
        return None
    amount = 1.0 if m.group(1).lower() in ("a", "an", "one") else float(m.group(1))
    seconds = amount * _UNIT_S[m.group(2)[0].lower()]
    rest = _DURATION.sub(" ", words_to_numbers(task))
    rest = re.sub(
        r"\b(?:please\s+)?(?:remind\s+me|set\s+an?\s+(?:timer|alarm))\b", " ", rest, flags=re.I
    )
    msg = re.search(r"\b(?:to|that|about)\s+(.+?)[.!?]*$", rest.strip(), re.I)
    return ToolCall("timer", {"seconds": seconds, "message": msg.group(1).strip() if msg else ""})


def plan(task: str, available: Sequence[str] = (), has_documents: bool = False) -> ToolCall | None:
    """The tool call the rules pick for `task` among `available` tools (None: no rule fits)."""
    names = set(available)
    call = parse_timer(task)
    if call is not None and "timer" in names:
        return call
    if call is None and _REMIND.search(task):
        return None  # a reminder without a time: the router asks when
    if _CLOCK.search(task) and "clock" in names:
        return ToolCall("clock")
    if "calculator" in names:
        expression = find_expression(task)
        if expression is not None:
            return ToolCall("calculator", {"expression": expression})
    if has_documents and "search_documents" in names:
        return ToolCall("search_documents", {"query": task})
    return None


def format_answer(call: ToolCall, result: ToolResult) -> Answer:
    """The spoken-style answer for a tool result (errors and timeouts say sorry)."""
    if result.status == "timeout":
        return Answer(f"Sorry, that took too long ({result.error}).", "timeout")
    if not result.ok:
        return Answer(f"Sorry, I couldn't do that: {result.error}", "error")
    value = format_value(result.value)
    if call.name == "calculator":
        return Answer(f"{call.args['expression']} = {value}")
    if call.name == "clock":
        return Answer(f"It is {value}.")
    if call.name == "search_documents" and value.startswith("No document"):
        return Answer(f"Sorry, I can't help with that: {value}", "declined")
    return Answer(value)


def calculator_answer(expression: str) -> str:
    """What the router answers for a calculator task ("210 / 5" -> "210 / 5 = 42"); the
    scenarios' simulated agent says the same."""
    call = ToolCall("calculator", {"expression": expression})
    return format_answer(call, ToolResult(call.name, call.args, value=calculator(expression))).text


class RuleRouter:
    """Routes a task to one tool by the rules of `plan`; no LLM involved."""

    name = "rules"

    async def run(self, job: Job) -> Answer:
        call = plan(job.task, job.tools.names, job.has_documents)
        if call is None:
            if _REMIND.search(job.task):
                return Answer(
                    "When should I remind you? Say, for example, 'in 5 minutes'.", "declined"
                )
            return Answer(f"Sorry, I can't do that: {job.task!r}.", "unrouted")
        return format_answer(call, await job.call(call.name, call.args))
