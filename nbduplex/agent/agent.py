"""The background agent: delegated tasks run on an asyncio loop in their own thread.

The session's loop thread calls `attach(session)`, `submit(task, at)` on a DELEGATE decision,
`drain_results()` every micro-turn and `detach()` at the end. None of them waits on a task:
`submit` hands the task to the agent's event loop with `call_soon_threadsafe` and returns its
id; results come back through a thread-safe queue as `TextEvent("agent", text)`.

Each task is routed to tools (rules by default, or an OpenAI-compatible model) and recorded as
an "agent_task" span on track `task-<id>`, with a "tool_call" span per tool call on the same
track. Span times are stream seconds: the submit time `at` plus the wall time elapsed since,
but never before the session's current micro-turn (a replay faster than real time moves the
stream on faster than the wall clock).
Spans are written to the session's trace (thread-safe) as they open and close, and also kept
in the agent's own `.spans` (with agent-local ids), attached or not (`spans.SpanRecorder`).

A new task replaces running ones when it is a correction, has the same explicit topic, or
updates a similar request (`supersede.py`). A repeat starts nothing (`supersede.repeat_of`: the
same task while it runs, or a spoken request delegated again within 0.5 s even if its task has
finished, which would otherwise be transcribed again and answered twice).
`cancel`, `cancel_all` cut tasks (barge-in). A tool error or timeout becomes an answer, never an
exception in the conversation.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nbduplex.agent.asr import Transcriber
from nbduplex.agent.builtin import DocumentIndex, builtin_tools
from nbduplex.agent.loop_thread import LoopThread
from nbduplex.agent.router import Answer, Job, Router, RuleRouter, plan
from nbduplex.agent.spans import SpanRecorder
from nbduplex.agent.supersede import (
    PARALLEL_TOPICS,
    SIMILARITY,
    is_correction,
    repeat_of,
    supersedes,
)
from nbduplex.agent.task import AgentTask, HistoryEntry, context_from_rows
from nbduplex.agent.tools import Tool, ToolRegistry, ToolResult
from nbduplex.microturn import MICROTURN_S, TextEvent

log = logging.getLogger(__name__)


class BackgroundAgent:
    """Runs delegated tasks off the micro-turn loop and posts their results into the stream.

    `tools`: a ToolRegistry or functions (default: calculator, clock, timer, search_documents);
    `router`: how a task becomes tool calls and an answer (default `RuleRouter()`; e.g.
    `OpenAIChatRouter(...)`); `documents`: a DocumentIndex or {name: text} searched by
    `search_documents`; `timeout`: seconds per tool call (tools may set their own);
    `task_timeout`: seconds per task (None: no limit beyond the tool and HTTP timeouts);
    `say_unrouted`: also post the "I can't do that" of a *spoken* (transcribed) request that no
    tool fits (default False: such a task is recorded but not said; typed tasks always are).
    """

    parallel_topics = PARALLEL_TOPICS  # implicit topics whose tasks never replace others
    similarity = SIMILARITY  # word overlap (Jaccard) above which a same-topic task is an update

    def __init__(
        self,
        tools: ToolRegistry | Iterable[Callable[..., Any]] | None = None,
        router: Router | None = None,
        documents: DocumentIndex | Mapping[str, str] | None = None,
        timeout: float = 10.0,
        *,
        task_timeout: float | None = None,
        max_workers: int = 4,  # threads for sync tools
        transcriber: Callable[[np.ndarray], str] | None = None,
        say_unrouted: bool = False,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        if isinstance(documents, DocumentIndex):
            self.documents = documents
        else:
            self.documents = DocumentIndex()
            for name, text in (documents or {}).items():
                self.documents.add(name, text)
        if tools is None:
            self.tools = builtin_tools(self.documents, timeout)
        else:
            self.tools = ToolRegistry(timeout=timeout)
            for item in tools:
                if isinstance(item, Tool):  # iterating a ToolRegistry yields Tools
                    opts = {"description": item.description, "timeout": item.timeout}
                    self.tools.register(item.fn, name=item.name, **opts)
                else:
                    self.tools.register(item)
            if documents is not None and "search_documents" not in self.tools:
                self.tools.register(self.documents.search_documents, name="search_documents")
        self.router: Router = router if router is not None else RuleRouter()
        self.timeout = timeout
        self.task_timeout = task_timeout
        self.max_workers = max_workers
        self._transcriber = transcriber if transcriber is not None else Transcriber()
        self.say_unrouted = say_unrouted  # post "I can't do that" for spoken requests too
        self.session: Any | None = None
        self.history: list[HistoryEntry] = []
        self.tasks: dict[int, AgentTask] = {}
        self._last_spoken: AgentTask | None = None  # the latest spoken (transcribed) request
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._results: queue.SimpleQueue[TextEvent] = queue.SimpleQueue()
        self._recorder = SpanRecorder(self._lock)  # .spans, mirrored into the session's trace
        self._runner = LoopThread(max_workers)
        self._t0 = time.monotonic()

    @property
    def spans(self) -> list[dict[str, Any]]:
        """Every span so far (agent-local ids; see `spans.py`)."""
        return self._recorder.spans

    @property
    def trace(self) -> Any | None:
        """The attached session's trace (None when detached)."""
        return self._recorder.trace

    # -- session hooks (called from the session's loop thread) ---------------------------------
    def attach(self, session: Any) -> None:
        """Start serving `session`: spans go to `session.trace`, results to its stream.

        Answers left over from an earlier session are dropped (they stay in `.history`)."""
        if self.session is not None and self.session is not session:
            self.detach()
        if self.session is not session:
            self.drain_results()
        self.session = session
        self._recorder.attach(getattr(session, "trace", None))
        self._start_loop()

    def detach(self, grace: float = 0.2) -> None:
        """Stop serving the session: wait up to `grace` seconds for running tasks, cancel the
        rest ("session ended"), write their spans, and stop the event loop."""
        self.wait(grace)
        self.cancel_all("session ended")
        self._stop_loop()
        self.session = None
        self._recorder.attach(None)

    close = detach

    def submit(
        self,
        task: str,
        at: float | None = None,
        context: Sequence[TextEvent] | None = None,
        *,
        topic: str | None = None,
        audio: np.ndarray | None = None,
        say_unrouted: bool | None = None,
    ) -> int:
        """Start `task` (stream time `at` seconds; default: now) and return its id at once.

        `context` is the conversation so far (default: the text events of the attached trace).
        With an empty `task` and the user's recent `audio` (int16, 16 kHz), the request is
        transcribed first (offline ASR, see `asr.py`), in the agent's thread. `say_unrouted`
        overrides the agent's setting for this task (the session sets it when the model has
        acknowledged the request aloud, so the user is not left waiting in silence).
        """
        text = " ".join(str(task or "").split())
        if at is None:
            at = self._stream_now()
        if context is None:
            context = context_from_rows(getattr(self.trace, "rows", None) or [])
        explicit = topic is not None
        if topic is None:
            call = plan(text, self.tools.names, len(self.documents) > 0)
            topic = call.name if call is not None else "general"
        correction = is_correction(text)
        spoken = not text and audio is not None and len(audio) > 0
        with self._lock:
            running = self.running
            repeated = repeat_of(text, topic, float(at), spoken, running, self._last_spoken)
            if repeated is not None:
                return repeated.id  # delegated again: nothing new to start
            job = AgentTask(
                next(self._ids), text, float(at), time.monotonic(), topic, tuple(context), explicit
            )
            job.audio = audio if spoken else None
            if spoken:
                self._last_spoken = job
            job.say_unrouted = self.say_unrouted if say_unrouted is None else bool(say_unrouted)
            replaced = [
                o for o in running if supersedes(job, o, self.parallel_topics, self.similarity)
            ]
            if correction and running and not replaced:
                replaced = [running[-1]]
            for other in replaced:
                self._cancel(other, f"superseded by task {job.id}")
            self.tasks[job.id] = job
            job.span = self._open_span("agent_task", job.at, job, label=text, topic=topic)
        self._runner.start().call_soon_threadsafe(self._begin, job)
        return job.id

    def drain_results(self) -> list[TextEvent]:
        """Finished tasks' answers as `TextEvent("agent", text)`, oldest first."""
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    # -- control ---------------------------------------------------------------------------------
    @property
    def running(self) -> list[AgentTask]:
        """Tasks still running, oldest first."""
        with self._lock:
            return [t for t in self.tasks.values() if t.status == "running"]

    def cancel(self, task_id: int, reason: str = "cancelled") -> bool:
        """Cancel a running task (its answer is dropped); False if it is not running."""
        with self._lock:
            job = self.tasks.get(task_id)
            if job is None or job.status != "running":
                return False
            self._cancel(job, reason)
            return True

    def cancel_all(self, reason: str = "cancelled") -> int:
        """Cancel every running task (barge-in); returns how many were cancelled."""
        with self._lock:
            jobs = self.running
            for job in jobs:
                self._cancel(job, reason)
            return len(jobs)

    def wait(self, timeout: float | None = None, task_id: int | None = None) -> bool:
        """Block until every task (or task `task_id`) has finished and settled (its spans are
        final); False on timeout. Not for the session's loop thread in live use (it blocks)."""

        def done() -> bool:
            jobs = self.tasks.values() if task_id is None else [self.tasks[task_id]]
            return all(t.settled for t in jobs)

        with self._idle:
            return self._idle.wait_for(done, timeout)

    def ask(self, task: str, timeout: float | None = 30.0) -> str:
        """Submit `task`, wait for it, and return its answer ("" on timeout; a notebook
        convenience, not for the session's loop thread)."""
        task_id = self.submit(task)
        self.wait(timeout, task_id)
        job = self.tasks[task_id]
        return job.result if job.status != "running" else ""

    # -- inside the event loop ---------------------------------------------------------------------
    def _begin(self, job: AgentTask) -> None:
        if job.status == "running":  # it may have been cancelled before the loop got to it
            job.handle = asyncio.get_running_loop().create_task(self._run(job))
        else:
            self._settle(job)

    def _settle(self, job: AgentTask) -> None:
        with self._lock:
            job.settled = True
            self._idle.notify_all()

    async def _transcribe(self, job: AgentTask) -> None:
        """Fill in a spoken request's text (a "transcribe" tool-call span)."""
        span = self._open_span(
            "tool_call", self._now(job), job, label="transcribe", parent=job.span, tool="transcribe"
        )
        try:
            loop = asyncio.get_running_loop()
            text = await loop.run_in_executor(None, self._transcriber, job.audio)
        except asyncio.CancelledError:
            self._close_span(span, self._now(job), status="cancelled")
            raise
        except Exception as e:  # no ASR installed, or it failed: the task goes on without text
            self._close_span(span, self._now(job), status="error", error=str(e)[:500])
            return
        self._close_span(span, self._now(job), status="ok", result=text[:500])
        job.text = text

    async def _run(self, job: AgentTask) -> None:
        if job.audio is not None:
            await self._transcribe(job)
        work = Job(
            job.text, job.context, self.tools, self._tool_caller(job), len(self.documents) > 0
        )
        try:
            answer = await asyncio.wait_for(self.router.run(work), self.task_timeout)
        except asyncio.CancelledError:
            self._finish(job, "cancelled", job.reason or "cancelled", post=False)
            raise
        except asyncio.TimeoutError:
            answer = Answer(f"Sorry, that took longer than {self.task_timeout:g} s.", "timeout")
        except Exception as e:  # a broken router must not stop the conversation
            log.exception("agent task %s failed", job.id)
            answer = Answer(f"Sorry, something went wrong: {type(e).__name__}: {e}", "error")
        finally:
            if job.status != "running":  # cancelled: its last spans were closed on the way out
                self._settle(job)
        # a spoken request that no tool fits is most likely a delegation the model should not
        # have made (measured: most of the model's delegations answer no request): recorded in
        # the trace and the history, not said
        quiet = job.audio is not None and answer.status == "unrouted" and not job.say_unrouted
        self._finish(job, answer.status, answer.text, post=not quiet)
        self._settle(job)

    def _tool_caller(self, job: AgentTask) -> Callable[[str, dict[str, Any]], Any]:
        async def call(name: str, args: dict[str, Any]) -> ToolResult:
            own = self.tools[name].timeout if name in self.tools else None
            limit = own or self.timeout
            span = self._open_span(
                "tool_call", self._now(job), job, label=name, parent=job.span, tool=name, args=args
            )
            try:
                result = await self.tools.call(name, args, timeout=limit)
            except asyncio.CancelledError:
                self._close_span(span, self._now(job), status="cancelled")
                raise
            done = {"status": result.status, "result": result.text[:500]}
            if not result.ok:
                done["error"] = result.error[:500]
            self._close_span(span, self._now(job), **done)
            return result

        return call

    # -- bookkeeping (any thread) ----------------------------------------------------------------
    def _cancel(self, job: AgentTask, reason: str) -> None:
        job.reason = reason
        self._finish(job, "cancelled", reason, post=False)
        loop = self._runner.loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._cancel_in_loop, job)
            except RuntimeError:  # the loop has just closed: nothing of the task runs any more
                job.settled = True

    @staticmethod
    def _cancel_in_loop(job: AgentTask) -> None:
        if job.handle is not None:
            job.handle.cancel()

    def _finish(self, job: AgentTask, status: str, text: str, *, post: bool) -> None:
        with self._lock:
            if job.status != "running":
                return
            job.status, job.result, job.ended = status, text, self._now(job)
            done = {"status": status, "result": text[:500]}
            if status in ("error", "timeout"):
                done["error"] = text[:500]
            self._close_span(job.span, job.ended, **done)
            self.history.append(HistoryEntry(job.text, text, status, job.at, job.ended))
            if post:
                self._results.put(TextEvent("agent", text))
            self._idle.notify_all()

    def _open_span(self, kind: str, start: float, job: AgentTask, label: str, **data: Any) -> int:
        """Open a span on the task's track (`parent`: the agent-local id of the task span)."""
        return self._recorder.open(kind, start, f"task-{job.id}", label, task_id=job.id, **data)

    def _close_span(self, local: int, end: float, **data: Any) -> None:
        self._recorder.close(local, end, **data)

    def _now(self, job: AgentTask) -> float:
        """Stream time now for `job`: its own clock, at least the session's position."""
        t = job.now()
        return max(t, self._stream_now()) if self.session is not None else t

    def _stream_now(self) -> float:
        if self.session is not None:
            return (getattr(self.session, "seq", -1) + 1) * MICROTURN_S
        return time.monotonic() - self._t0

    # -- the event-loop thread -------------------------------------------------------------------
    def _start_loop(self) -> None:
        self._runner.start()

    def _stop_loop(self) -> None:
        if not self._runner.alive:
            return
        self._runner.stop()
        with self._lock:
            for job in self.tasks.values():
                job.settled = True  # nothing of theirs runs any more
            self._idle.notify_all()

    def __repr__(self) -> str:
        return (
            f"BackgroundAgent(router={getattr(self.router, 'name', self.router)!r}, "
            f"tools={self.tools.names}, documents={len(self.documents)}, "
            f"running={len(self.running)}, done={len(self.history)})"
        )
