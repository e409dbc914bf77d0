"""The background agent: tools, the safe calculator, routing, the async agent and its spans, and
an OpenAI-compatible endpoint (a real local HTTP server) with a tool call."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.agent import (
    Answer,
    BackgroundAgent,
    DocumentIndex,
    OpenAIChatRouter,
    ToolRegistry,
    calculator,
    clock,
    find_expression,
    plan,
    timer,
    tool,
)
from nbduplex.agent.router import words_to_numbers
from nbduplex.decision import Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, MicroTurn, TextEvent

NAMES = ["calculator", "clock", "timer", "search_documents"]


def run(coro):
    return asyncio.run(coro)


# -- calculator -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23", 391),
        ("(2 + 3) * 4", 20),
        ("2 ** 10", 1024),
        ("2^10", 1024),
        ("7 % 3", 1),
        ("7 // 2", 3),
        ("-5 - -3", -2),
        ("1 / 4", 0.25),
        ("sqrt(144) + abs(-1)", 13),
        ("max(1, 5, 3) * pi", 5 * 3.141592653589793),
        ("17 × 23", 391),
        ("1_000 + 1", 1001),
    ],
)
def test_calculator_correct(expression, expected):
    assert calculator(expression) == pytest.approx(expected)


@given(
    st.integers(-10_000, 10_000),
    st.integers(-10_000, 10_000),
    st.sampled_from(["+", "-", "*"]),
)
@settings(max_examples=60, deadline=None)
def test_calculator_matches_integer_arithmetic(a, b, op):
    want = {"+": a + b, "-": a - b, "*": a * b}[op]
    assert calculator(f"{a} {op} ({b})") == want


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "(1).real",
        "().__class__.__bases__",
        "open('/etc/passwd')",
        "lambda: 1",
        "[1, 2]",
        "'a' * 3",
        "True + 1",
        "x + 1",
        "1 if 1 else 2",
        "1 < 2",
        "sqrt(x=4)",
        "9 ** 9 ** 9",
        "10 ** 100000",
        "2 ** 1e6",
        "10.0 ** 400",
        "1e308 * 10",
        "(-8) ** (1 / 3)",
        "1 / 0",
        "5 % 0",
        "sqrt(-1)",
        "",
        "1 +",
        "1" * 400,
        "(" * 140 + "1" + ")" * 140 + "+ x",
    ],
)
def test_calculator_rejects_unsafe_or_bad_input(expression):
    t0 = time.perf_counter()
    with pytest.raises(ValueError):
        calculator(expression)
    assert time.perf_counter() - t0 < 0.5  # refused, not computed


def test_calculator_rejects_non_strings():
    with pytest.raises(TypeError):
        calculator(17)


# -- routing --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what is seventeen times twenty-three", "17 * 23"),
        ("what is 17 times 23?", "17 * 23"),
        ("one hundred and five plus two", "105 + 2"),
        ("what is 2 to the power of 10", "2 ** 10"),
        ("square root of 144", "sqrt(144)"),
        ("15 percent of 80", "15 / 100 * 80"),
        ("12 x 3", "12 * 3"),
        ("no, I meant 17 times 24", "17 * 24"),
        ("what is 10 divided by 0", "10 / 0"),  # kept: the calculator reports the error
        ("what happened in 2024", None),
        ("hello there", None),
        ("minus four hundred ninety three", None),  # a lone signed number: nothing to work out
        ("what is minus 3 plus 4", "-3 + 4"),
    ],
)
def test_find_expression(text, expected):
    assert find_expression(text) == expected


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
]
_ONES += ["fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def spell(n: int) -> str:
    """English words for 0 <= n < 1e6 ("one hundred and five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = "" if n % 100 == 0 else " and " + spell(n % 100)
        return _ONES[n // 100] + " hundred" + rest
    rest = "" if n % 1000 == 0 else " " + spell(n % 1000)
    return spell(n // 1000) + " thousand" + rest


@given(st.integers(0, 999_999), st.integers(0, 999), st.sampled_from(["plus", "times", "minus"]))
@settings(max_examples=80, deadline=None)
def test_spelled_arithmetic_is_understood(a, b, op):
    assert words_to_numbers(spell(a)) == str(a)
    expression = find_expression(f"what is {spell(a)} {op} {spell(b)}?")
    want = {"plus": a + b, "times": a * b, "minus": a - b}[op]
    assert calculator(expression) == want


def test_words_to_numbers():
    assert words_to_numbers("two thousand and twenty four") == "2024"
    assert words_to_numbers("ninety nine bottles and three") == "99 bottles and 3"
    assert words_to_numbers("bread and butter") == "bread and butter"


@pytest.mark.parametrize(
    ("task", "docs", "tool_name"),
    [
        ("what is 17 times 23", False, "calculator"),
        ("(2+3)*4", True, "calculator"),
        ("what time is it?", False, "clock"),
        ("what's the date today", True, "clock"),
        ("remind me in 5 seconds to stretch", False, "timer"),
        ("set a timer for two minutes", True, "timer"),
        ("when is the meeting", True, "search_documents"),
        ("when is the meeting", False, None),
        ("remind me to call mom", True, None),  # no time given: the router asks when
    ],
)
def test_plan_picks_the_tool(task, docs, tool_name):
    call = plan(task, NAMES, has_documents=docs)
    assert (call.name if call else None) == tool_name


def test_plan_timer_arguments_and_missing_tools():
    call = plan("remind me in five seconds to stretch", NAMES)
    assert call.args == {"seconds": 5.0, "message": "stretch"}
    assert plan("set a timer for 2 minutes", NAMES).args["seconds"] == 120.0
    assert plan("what is 2 plus 2", ["clock"]) is None  # only tools that exist


# -- tools ----------------------------------------------------------------------------------------
def test_schema_from_signature_and_decorators():
    reg = ToolRegistry()

    @reg.tool
    def lookup(city: str, days: int = 3, metric: bool | None = None, tags: list[str] = ()) -> str:
        """Look up the weather.

        Args:
            city: where
            days: how many days ahead
        """
        return city

    @reg.tool(name="renamed", timeout=1.5)
    async def other(x: float) -> float:
        return x

    spec = reg["lookup"].schema()["function"]
    assert spec["description"] == "Look up the weather."
    props = spec["parameters"]["properties"]
    assert props["city"] == {"type": "string", "description": "where"}
    assert props["days"] == {"type": "integer", "description": "how many days ahead", "default": 3}
    assert props["metric"]["type"] == "boolean"
    assert props["tags"]["type"] == "array" and props["tags"]["items"] == {"type": "string"}
    assert spec["parameters"]["required"] == ["city"]
    assert reg["renamed"].is_async and reg["renamed"].timeout == 1.5
    assert [s["function"]["name"] for s in reg.schemas()] == ["lookup", "renamed"]
    with pytest.raises(ValueError):
        reg.register(lambda: 1, name="bad name!")
    with pytest.raises(TypeError):
        reg.register(42)


def test_registry_call_results_never_raise():
    reg = ToolRegistry(timeout=0.3)
    reg.register(calculator)
    reg.register(timer)

    @reg.tool
    def boom() -> str:
        raise RuntimeError("kaputt")

    @reg.tool
    async def hang() -> str:
        await asyncio.sleep(10)
        return "never"

    async def go():
        return [
            await reg.call("calculator", {"expression": "6*7"}),
            await reg.call("calculator", {"expression": "__import__('os')"}),
            await reg.call("calculator", {}),
            await reg.call("calculator", {"expression": "1", "extra": 2}),
            await reg.call("nope", {}),
            await reg.call("boom"),
            await reg.call("hang"),
            await reg.call("timer", {"seconds": "0.01", "message": "stretch"}),  # "0.01" coerced
            await reg.call("timer", {"seconds": -1}),
        ]

    ok, unsafe, missing, extra, unknown, boom_, hang_, tick, negative = run(go())
    assert ok.ok and ok.value == 42.0 and ok.text == "42"
    assert unsafe.status == "error" and "not allowed" in unsafe.error
    assert missing.status == "error" and "missing" in missing.error
    assert extra.status == "error" and "unknown" in extra.error
    assert unknown.status == "error" and "no tool named" in unknown.error
    assert boom_.status == "error" and "kaputt" in boom_.error
    assert hang_.status == "timeout" and hang_.elapsed_s < 2.0
    assert tick.ok and tick.value == "Reminder: stretch"
    assert negative.status == "error"


def test_tool_marker_and_clock():
    @tool(name="now", description="The time.", timeout=2.0)
    def f() -> str:
        return clock()

    reg = ToolRegistry()
    t = reg.register(f)
    assert (t.name, t.description, t.timeout) == ("now", "The time.", 2.0)
    assert str(datetime.now().year) in clock()


def test_document_index_bm25():
    index = DocumentIndex()
    index.add("meeting", "The project meeting is on Friday at 10 in room B.")
    index.add("food", "Lunch today is pizza. Dinner is soup.")
    index.add("travel", "The train to Paris leaves at 9. Bring the tickets.")
    hits = index.search("when is the meeting", k=3)
    assert hits[0][0].document == "meeting"
    assert [p.document for p, _ in index.search("pizza lunch")] == ["food"]
    assert index.search("zebra") == [] and index.search("") == []
    assert "room B" in index.search_documents("meeting room")
    index.add("meeting", "Cancelled.")  # replacing a document
    assert index.search("friday") == []
    with pytest.raises(ValueError):
        index.add("", "x")


@given(st.lists(st.sampled_from(["alpha", "beta", "gamma", "delta", "omega"]), min_size=1))
@settings(max_examples=30, deadline=None)
def test_bm25_documents_with_the_term_rank_first(words):
    index = DocumentIndex()
    index.add("with", " ".join([*words, "needle"]))
    index.add("without", " ".join(words))
    hits = index.search("needle")
    assert [p.document for p, _ in hits] == ["with"]


# -- the agent ------------------------------------------------------------------------------------
def test_agent_answers_without_blocking():
    agent = BackgroundAgent()
    try:
        agent.submit("what time is it", at=0.0)  # starts the loop
        times = []
        for i in range(10):
            t0 = time.perf_counter()
            agent.submit(f"what is {17 + i} times 23", at=1.0, topic=f"question {i}")
            times.append((time.perf_counter() - t0) * 1000)
        assert statistics.median(times) < 5.0, times
        assert agent.wait(5.0)
        texts = [e.text for e in agent.drain_results()]
        assert texts[0].startswith("It is ")
        assert "17 * 23 = 391" in texts and len(texts) == 11
        assert agent.drain_results() == []
        task, result, status, started, ended = agent.history[1]
        assert (task, status, started) == ("what is 17 times 23", "ok", 1.0) and ended >= started
    finally:
        agent.detach()


def test_agent_with_session_and_trace():
    from nbduplex.session import Session
    from nbduplex.trace import Trace

    class DelegateOnce:
        name = "delegate-once"

        def __init__(self):
            self.seen: list[tuple[int, TextEvent]] = []

        def reset(self):
            self.seen.clear()

        def step(self, turn):
            self.seen += [(turn.seq, e) for e in turn.text if e.role == "agent"]
            if turn.seq == 2:
                return Decision(Action.DELEGATE, task="what is seventeen times twenty three")
            return Decision(Action.LISTEN)

    def source():
        for seq in range(40):
            time.sleep(0.01)  # a slow source, so the answer arrives during the session
            yield MicroTurn(seq, np.zeros(CHUNK_SAMPLES, np.int16), wall=time.time())

    policy = DelegateOnce()
    agent = BackgroundAgent()
    trace = Session(source(), policy, agent=agent, trace=Trace()).run()
    assert [e.text for _, e in policy.seen] == ["17 * 23 = 391"]
    assert policy.seen[0][0] > 2
    assert agent.session is None and not agent.running  # detached at the end
    task_span = next(s for s in trace.spans if s["kind"] == "agent_task")
    call_span = next(s for s in trace.spans if s["kind"] == "tool_call")
    assert task_span["track"] == call_span["track"] == "task-1"
    assert task_span["start"] == pytest.approx(0.6)  # delegated on micro-turn 2: t + 0.2
    assert task_span["status"] == "ok" and "391" in task_span["result"]
    assert task_span["start"] <= call_span["start"] <= call_span["end"] <= task_span["end"]
    assert task_span["end"] <= policy.seen[0][0] * 0.2 + 0.1  # done by the turn that saw it
    assert call_span["label"] == "calculator" and call_span["status"] == "ok"
    assert call_span["parent"] == task_span["id"]  # the Gantt nests the call under its task
    assert call_span["args"] == {"expression": "17 * 23"}
    assert any(["agent", "17 * 23 = 391"] in row["text_in"] for row in trace.rows)


def slow_router_agent(**kwargs):
    """An agent whose router calls one named tool (`job.task` is the tool name)."""

    class OneTool:
        name = "one-tool"

        async def run(self, job):
            result = await job.call(job.task, {})
            return Answer(result.text, result.status)

    def boom() -> str:
        raise ZeroDivisionError("tool exploded")

    async def sleepy() -> str:
        await asyncio.sleep(5)
        return "woke"

    def sync_sleepy() -> str:
        time.sleep(1.0)
        return "woke"

    def fast() -> str:
        return "fast"

    return BackgroundAgent([boom, sleepy, sync_sleepy, fast], router=OneTool(), **kwargs)


def test_tool_error_becomes_an_error_result_and_span():
    agent = slow_router_agent()
    try:
        agent.submit("boom", at=3.0)
        assert agent.wait(3.0)
        [event] = agent.drain_results()
        assert event.role == "agent" and "tool exploded" in event.text
        task_span, call_span = agent.spans
        assert task_span["status"] == call_span["status"] == "error"
        assert "tool exploded" in call_span["error"] and call_span["parent"] == task_span["id"]
        assert call_span["track"] == task_span["track"] == "task-1"
        assert agent.history[0].status == "error"
        agent.submit("fast", at=4.0)  # the agent goes on
        assert agent.wait(3.0) and agent.drain_results()[0].text == "fast"
    finally:
        agent.detach()


@pytest.mark.parametrize("name", ["sleepy", "sync_sleepy"])
def test_slow_tool_times_out(name):
    agent = slow_router_agent(timeout=0.15)
    try:
        t0 = time.perf_counter()
        agent.submit(name, at=0.0)
        assert agent.wait(3.0)
        assert time.perf_counter() - t0 < 0.8  # the tool would take 1 s or 5 s
        [event] = agent.drain_results()
        assert "timed out" in event.text
        assert agent.history[0].status == "timeout"
        assert agent.spans[1]["status"] == "timeout"
    finally:
        agent.detach()


def test_cancel_supersede_and_duplicates():
    agent = slow_router_agent()
    try:
        first = agent.submit("sleepy", at=1.0, topic="a")
        assert agent.submit("sleepy", at=1.2, topic="a") == first  # same request again: ignored
        assert agent.submit(" sleepy ", at=1.4, topic="a") == first  # the same, normalised
        second = agent.submit("fast", at=1.6, topic="a")  # same topic: replaces the first
        assert agent.wait(2.0)
        assert agent.tasks[first].status == "cancelled"
        assert agent.tasks[first].reason == f"superseded by task {second}"
        assert [e.text for e in agent.drain_results()] == ["fast"]

        quick = agent.submit("sleepy", at=1.8)
        assert agent.cancel(quick)  # cancelled before the event loop even started it
        third = agent.submit("sleepy", at=2.0)
        time.sleep(0.05)
        assert agent.cancel(third) and not agent.cancel(third) and not agent.cancel(999)
        assert agent.wait(1.0) and agent.drain_results() == []
        spans = [s for s in agent.spans if s["task_id"] == third]
        assert {s["status"] for s in spans} == {"cancelled"}  # the task and its tool call
        assert all(s["end"] is not None for s in spans)

        for topic in "xyz":
            agent.submit("sleepy", at=3.0, topic=topic)
        time.sleep(0.05)
        assert len(agent.running) == 3 and agent.cancel_all("barge-in") == 3
        assert not agent.running
        assert [h.status for h in agent.history].count("cancelled") == 6
    finally:
        agent.detach()


def test_corrections_replace_the_running_task():
    agent = BackgroundAgent()
    try:
        t1 = agent.submit("remind me in 5 seconds to stretch", at=0.0)
        t2 = agent.submit("remind me in 6 seconds to drink", at=0.2)  # timers run side by side
        t3 = agent.submit("no, remind me in 0.05 seconds to drink water", at=0.4)
        assert agent.wait(2.0, t3)
        assert agent.tasks[t2].status == "cancelled"  # the correction replaced the latest task
        assert agent.tasks[t1].status == "running"
        assert [e.text for e in agent.drain_results()] == ["Reminder: drink water"]
        assert agent.tasks[t3].status == "ok"
        t4 = agent.submit("what is 17 times 23 times 1000 times 1000", at=1.0)
        t5 = agent.submit("what is 17 times 23 times 1000 times 1001", at=1.0)  # an update
        assert agent.wait(2.0, t5) and agent.tasks[t5].status == "ok"
        assert agent.tasks[t4].status in ("cancelled", "ok")  # replaced unless already done
    finally:
        agent.detach()
    assert agent.tasks[t1].status == "cancelled" and agent.tasks[t1].reason == "session ended"


def test_agent_documents_and_declines():
    agent = BackgroundAgent(documents={"notes": "The meeting is on Friday at 10 in room B."})
    try:
        assert "Friday" in agent.ask("when is the meeting", timeout=3.0)
        assert agent.ask("tell me a joke", timeout=3.0).startswith("Sorry, I can't")
        assert agent.history[-1].status == "declined"  # searched the documents, found nothing
        assert agent.ask("", timeout=3.0).startswith("Sorry")  # empty task: an answer, no crash
    finally:
        agent.detach()


# -- an OpenAI-compatible endpoint ----------------------------------------------------------------
class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers like /v1/chat/completions: first a tool call, then an answer using its result."""

    requests: list[dict] = []
    headers_seen: list[dict] = []
    mode = "normal"

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append(body)
        FakeOpenAI.headers_seen.append(dict(self.headers))
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": "not found"})
        if FakeOpenAI.mode == "http-500":
            return self._send(500, {"error": {"message": "overloaded"}})
        if FakeOpenAI.mode == "slow":
            time.sleep(0.6)
        if FakeOpenAI.mode == "garbage":
            return self._send(200, None)
        tool_messages = [m for m in body["messages"] if m["role"] == "tool"]
        if not tool_messages:
            args = '{"expression": "17*23"}' if FakeOpenAI.mode == "normal" else "{not json"
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "calculator", "arguments": args},
                    }
                ],
            }
        else:
            message = {"role": "assistant", "content": f"It is {tool_messages[-1]['content']}."}
        self._send(200, {"id": "x", "object": "chat.completion", "choices": [{"message": message}]})

    def _send(self, status, payload):
        data = b"<html>oops" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (the timeout test)
            pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    FakeOpenAI.requests, FakeOpenAI.headers_seen, FakeOpenAI.mode = [], [], "normal"
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_openai_router_round_trip_with_a_tool_call(endpoint):
    router = OpenAIChatRouter(endpoint, "tiny-model", api_key="sk-test", timeout=5.0)
    assert "sk-test" not in repr(router)
    agent = BackgroundAgent(router=router)
    try:
        context = [TextEvent("user", "I need some arithmetic"), TextEvent("model", "Sure.")]
        agent.submit("what is 17 times 23", at=2.0, context=context)
        assert agent.wait(5.0)
        assert [e.text for e in agent.drain_results()] == ["It is 391."]
    finally:
        agent.detach()
    first, second = FakeOpenAI.requests
    assert first["model"] == "tiny-model"
    assert FakeOpenAI.headers_seen[0]["Authorization"] == "Bearer sk-test"
    assert "calculator" in [t["function"]["name"] for t in first["tools"]]
    roles = [m["role"] for m in first["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert first["messages"][-1]["content"] == "what is 17 times 23"
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_1", "content": "391"}
    assert second["messages"][-2]["tool_calls"][0]["id"] == "call_1"
    kinds = [(s["kind"], s["label"], s["status"]) for s in agent.spans]
    assert kinds == [("agent_task", "what is 17 times 23", "ok"), ("tool_call", "calculator", "ok")]


@pytest.mark.parametrize(
    ("mode", "status"), [("http-500", "error"), ("garbage", "error"), ("slow", "timeout")]
)
def test_openai_router_failures_become_answers(endpoint, mode, status):
    FakeOpenAI.mode = mode
    agent = BackgroundAgent(router=OpenAIChatRouter(endpoint, "m", timeout=0.3))
    try:
        text = agent.ask("what is 2 plus 2", timeout=5.0)
        assert text.startswith("Sorry") and agent.history[-1].status == status
    finally:
        agent.detach()


def test_openai_router_bad_tool_arguments_and_unreachable(endpoint):
    FakeOpenAI.mode = "bad-args"
    agent = BackgroundAgent(router=OpenAIChatRouter(endpoint, "m", timeout=5.0))
    try:
        assert agent.ask("what is 2 plus 2", timeout=5.0).startswith("It is error: bad arguments")
    finally:
        agent.detach()
    dead = BackgroundAgent(router=OpenAIChatRouter("http://127.0.0.1:9/v1", "m", timeout=2.0))
    try:
        assert dead.ask("hi", timeout=5.0).startswith("Sorry, the model request failed")
    finally:
        dead.detach()
    with pytest.raises(ValueError):
        OpenAIChatRouter("localhost:8000", "m")


def test_supersede_rules():
    from nbduplex.agent.supersede import is_correction, supersedes
    from nbduplex.agent.task import AgentTask

    def task(text, topic="calculator", explicit=False):
        return AgentTask(0, text, 0.0, 0.0, topic, (), explicit)

    assert is_correction("No, I meant 17 times 24") and is_correction("actually make it ten")
    assert not is_correction("what is 17 times 24") and not is_correction("nobody knows")
    assert supersedes(task("what is 17 times 24"), task("what is 17 times 23"))
    assert not supersedes(task("what is 17 times 24"), task("tell me the time", "clock"))
    assert not supersedes(task("what is 3 plus 4"), task("how much is 900 divided by 12"))
    assert not supersedes(task("set a timer for 5 minutes", "timer"),
                          task("set a timer for 6 minutes", "timer"))  # fmt: skip
    assert supersedes(task("anything", "a", True), task("else", "a", True))
    assert not supersedes(task("same words", "a", True), task("same words", "a"))


def test_repeat_rules():
    from nbduplex.agent.supersede import SAME_SPOKEN_REQUEST_S, repeat_of
    from nbduplex.agent.task import AgentTask

    typed = AgentTask(1, "what is 17 times 23", 1.0, 0.0, "calculator", (), False)
    spoken = AgentTask(2, "", 1.0, 0.0, "general", (), False)
    running = [typed]
    assert repeat_of("What is 17 times 23", "calculator", 1.2, False, running, None) is typed
    assert repeat_of("what is 17 times 24", "calculator", 1.2, False, running, None) is None
    assert repeat_of("No, what is 17 times 23", "calculator", 1.2, False, [], None) is None
    # a spoken request repeats the last spoken one for a short while, finished or not
    assert repeat_of("", "general", 1.2, True, [], spoken) is spoken
    assert repeat_of("", "general", 1.0 + SAME_SPOKEN_REQUEST_S + 0.2, True, [], spoken) is None
    assert repeat_of("", "general", 1.2, True, [], None) is None
