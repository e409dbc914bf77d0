"""The micro-turn loop: source -> policy -> speaker / agent -> trace -> listeners.

One loop for live capture, files, synthetic scenarios and replays; only the source differs.
Per micro-turn k: render output chunk k (what the model is saying now), tell the policy whether
its own voice is audible, step the policy on input chunk k, act on the decision (speech starts
at the next chunk boundary, a yield cuts speech there, a delegation goes to the background
agent), append everything to the trace and notify listeners (widgets).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from nbduplex.decision import SPEECH_ACTIONS, Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, MicroTurn, TextEvent
from nbduplex.policy import Policy, resolve_policy
from nbduplex.speaker import Speaker, words_for

log = logging.getLogger(__name__)

REQUEST_AUDIO_TURNS = 40  # micro-turns (8 s) of user audio kept for a spoken delegated request
Listener = Callable[[dict, MicroTurn, Decision, np.ndarray], None]


class Session:
    """Runs a policy over a source, micro-turn by micro-turn, and records a Trace.

    `realtime=None` paces non-live sources only when they are live (browser); `True` paces a
    file or scenario at wall-clock speed (a demo), `False` runs as fast as possible.
    """

    def __init__(
        self,
        source: Iterable[MicroTurn],
        policy: Policy | str,
        *,
        trace: Any | None = None,
        speaker: Speaker | None = None,
        agent: Any | None = None,
        realtime: bool | None = None,
        max_turns: int | None = None,
        cancel_tasks_on_barge_in: bool = True,
    ) -> None:
        from nbduplex.trace import Trace

        self.source = source
        self.policy = resolve_policy(policy)
        self.speaker = speaker if speaker is not None else Speaker()
        self.agent = agent
        self.trace = trace if trace is not None else Trace(meta={"policy": self.policy_name})
        self.realtime = bool(getattr(source, "live", False)) if realtime is None else realtime
        self.max_turns = max_turns
        self.cancel_tasks_on_barge_in = cancel_tasks_on_barge_in  # DESIGN: barge-in cancels
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending_text: list[TextEvent] = []
        self._text_lock = threading.Lock()
        self._controls: dict[str, Any] = {}
        self.error: BaseException | None = None
        self._spans_reported = 0  # model speech spans already written to the trace
        self._recent_audio: deque[np.ndarray] = deque(maxlen=REQUEST_AUDIO_TURNS)
        self.seq = -1  # last completed micro-turn

    @property
    def policy_name(self) -> str:
        return str(getattr(self.policy, "name", type(self.policy).__name__))

    # -- listeners and live control -------------------------------------------------------------
    def add_listener(self, fn: Listener) -> None:
        """Call `fn(row, turn, decision, out_chunk)` after every micro-turn (loop thread)."""
        self._listeners.append(fn)

    def set_control(self, name: str, value: Any) -> None:
        """Change a live control (e.g. `eagerness`, `do_not_interrupt`) and record it."""
        self._controls[name] = value
        if hasattr(self.policy, name):
            setattr(self.policy, name, value)
        t = max(self.seq + 1, 0) * 0.2
        self.trace.add_span("setting", t, t, label=f"{name}={value}", name=name, value=value)

    def post_text(self, text: str, role: str = "user") -> None:
        """Inject a text event (typed text, an agent result) into the next micro-turn."""
        with self._text_lock:
            self._pending_text.append(TextEvent(role, text))

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> Any:
        """Run to the end of the source (or `stop()`); returns the Trace."""
        self.policy.reset()
        self.speaker.reset()
        self._recent_audio.clear()
        if self.agent is not None:
            self.agent.attach(self)
        try:
            for turn in self._turns():
                if self._stop.is_set():
                    break
                self.step(turn)
                if self.max_turns is not None and self.seq + 1 >= self.max_turns:
                    break
        except BaseException as e:  # recorded data stays; the error is re-raised
            self.error = e
            raise
        finally:
            self._finish()
        return self.trace

    def _turns(self) -> Iterator[MicroTurn]:
        turns: Iterable[MicroTurn] = self.source
        if self.realtime and not getattr(self.source, "live", False):
            from nbduplex.sources.pacing import paced

            turns = paced(turns)
        return iter(turns)

    def step(self, turn: MicroTurn) -> Decision:
        """Process one micro-turn (the loop body; usable directly in tests)."""
        out = self.speaker.render(turn.seq)
        speaking = bool(np.any(out))
        self._report_speech_spans()
        with self._text_lock:
            extra, self._pending_text = self._pending_text, []
        if self.agent is not None:
            extra += self.agent.drain_results()
        if extra or speaking != turn.model_speaking:
            turn = turn.with_(text=turn.text + tuple(extra), model_speaking=speaking)

        self._recent_audio.append(turn.audio)
        t0 = time.perf_counter()
        decision = self.policy.step(turn)
        decision.step_ms = (time.perf_counter() - t0) * 1000.0
        latency_ms = (time.time() - turn.wall) * 1000.0 if math.isfinite(turn.wall) else None

        self._act(turn, decision)
        row = self.trace.append(turn, decision, out, latency_ms=latency_ms)
        self.seq = turn.seq
        for fn in self._listeners:
            try:
                fn(row, turn, decision, out)
            except Exception:  # a broken widget must not stop the conversation
                log.exception("session listener failed")
        return decision

    def _act(self, turn: MicroTurn, decision: Decision) -> None:
        next_chunk = (turn.seq + 1) * CHUNK_SAMPLES
        action = decision.action
        if action in SPEECH_ACTIONS:
            if self._controls.get("do_not_interrupt") and action is Action.INTERJECT:
                decision.info["suppressed"] = "do_not_interrupt"
                return
            decision.text = words_for(decision.text, action.value)
            self._say(decision.text, next_chunk, action)
        elif action is Action.YIELD:
            cut = self.speaker.stop(next_chunk)
            if cut and self.agent is not None and self.cancel_tasks_on_barge_in:
                self.agent.cancel_all("barge-in")
        elif action is Action.DELEGATE:
            if decision.text:  # an acknowledgement while the agent works
                self._say(decision.text, next_chunk, action)
            if self.agent is None:
                return
            task = decision.task or turn.user_text
            # a spoken request: the agent transcribes the last seconds of user audio itself
            audio = None if task else np.concatenate(self._recent_audio)
            # after an acknowledgement aloud, even "I can't do that" is said
            said = True if decision.text else None
            self.agent.submit(task or "", at=turn.t + 0.2, audio=audio, say_unrouted=said)

    def _say(self, text: str, at_sample: int, action: Action) -> None:
        self.speaker.say(text, at_sample, action=action.value)
        with self._text_lock:
            self._pending_text.append(TextEvent("model", text))

    def _report_speech_spans(self) -> None:
        spans = self.speaker.spans
        for span in spans[self._spans_reported :]:
            self.trace.add_span(
                "model_speech", span.start, span.end, label=span.text, interrupted=span.interrupted
            )
        self._spans_reported = len(spans)

    def _finish(self) -> None:
        self.speaker.flush()
        self._report_speech_spans()
        if self.agent is not None:
            self.agent.detach()
        self.trace.close()
        close = getattr(self.source, "close", None)
        if close is not None:
            close()

    def start(self) -> None:
        """Run in a background thread (live use); `stop()` ends it, `wait()` joins it."""
        if self.running:
            raise RuntimeError("session is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run_quietly, name="nbduplex-session")
        self._thread.daemon = True
        self._thread.start()

    def _run_quietly(self) -> None:
        try:
            self.run()
        except BaseException:
            log.exception("session stopped with an error")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Ask the loop to end after the current micro-turn (and close a live source)."""
        self._stop.set()
        close = getattr(self.source, "close", None)
        if getattr(self.source, "live", False) and close is not None:
            close()

    def wait(self, timeout: float | None = None) -> Any:
        """Join the background thread; returns the Trace."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.trace
