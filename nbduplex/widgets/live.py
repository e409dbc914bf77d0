"""`live()`: talk to a policy from the notebook; `replay()`: look at a saved trace the same way.

`live(policy)` shows capture, speaker, controls, timeline, inspector and agent trace in one
VBox. Every press of Start begins a fresh `Session` over the browser stream (Stop ends it); the
returned `LiveSession` gives the widgets, the running `session` and its `trace`, which stays
usable after Stop. The trace lives in memory unless `directory=` asks for it on disk.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ipywidgets as ipw

from nbduplex.policy import Policy, resolve_policy
from nbduplex.widgets.agent_trace import AgentTraceWidget
from nbduplex.widgets.capture import CaptureWidget
from nbduplex.widgets.controls import ControlsWidget
from nbduplex.widgets.inspector import InspectorWidget
from nbduplex.widgets.speaker import SpeakerWidget, trace_span_writer
from nbduplex.widgets.timeline import TimelineWidget

log = logging.getLogger(__name__)


class LiveSession:
    """The widgets of a live session and the Session behind them (see `live`)."""

    def __init__(
        self,
        policy: str | Policy = "openai-server-vad",
        *,
        mode: str = "both",
        echo_cancellation: bool = True,
        directory: str | Path | None = None,
        agent: Any = None,
        speaker: Any = None,
        policy_options: dict[str, Any] | None = None,
    ) -> None:
        self.policy = resolve_policy(policy, **(policy_options or {}))
        self.directory = Path(directory) if directory is not None else None
        if agent is True:
            from nbduplex.agent import BackgroundAgent

            agent = BackgroundAgent()
        self.agent = agent or None
        self._speaker_voice = speaker  # an nbduplex.speaker.Speaker (None: the default voice)
        self.capture = CaptureWidget(mode=mode, echo_cancellation=echo_cancellation)
        self.speaker = SpeakerWidget()
        self.controls = ControlsWidget(self.policy)
        self.timeline = TimelineWidget()
        self.inspector = InspectorWidget()
        self.agent_trace = AgentTraceWidget()
        self.session: Any = None
        self.sessions: list[Any] = []  # one per Start, oldest first
        self.capture.on_start(self._begin)
        self.capture.on_stop(self._end)
        self.timeline.on_select(self._inspect)
        self.speaker.on_span(self._playback)
        self.widget = ipw.VBox(
            [self.capture, self.speaker, self.controls, self.timeline, self.inspector]
            + ([self.agent_trace] if self.agent is not None else [])
        )

    # -- public ---------------------------------------------------------------------------------
    @property
    def trace(self) -> Any:
        """The Trace of the current (or last) session; None before the first Start."""
        return self.session.trace if self.session is not None else None

    @property
    def running(self) -> bool:
        """A session is running (capture is live)."""
        return self.session is not None and self.session.running

    def show(self) -> None:
        """Display the widgets (again) in the current cell."""
        from IPython.display import display

        display(self.widget)

    def stop(self, timeout: float = 5.0) -> Any:
        """Stop capture and the session; returns the trace."""
        self.capture.stop()
        if self.session is not None:
            self.session.stop()
            self.session.wait(timeout)
        return self.trace

    def stats(self) -> dict[str, Any]:
        """A JSON-able summary (capture counts, decisions, playback, timeline draw time)."""
        rows = list(self.trace.rows) if self.trace is not None else []
        spans = list(self.trace.spans) if self.trace is not None else []
        lat = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
        actions: dict[str, int] = {}
        for r in rows:
            actions[r["action"]] = actions.get(r["action"], 0) + 1
        return {
            "capture": self.capture.stats,
            "turns": len(rows),
            "actions": actions,
            "speaking_turns": sum(bool(r.get("speaking")) for r in rows),
            "latency_ms": lat,
            "playback_spans": [s for s in spans if s["kind"] == "playback"],
            "speaker_spans": list(self.speaker.spans),
            "speaker_sent": self.speaker.sent,
            "settings": [s for s in spans if s["kind"] == "setting"],
            "timeline_perf": dict(self.timeline.perf),
            "running": self.running,
            "error": repr(self.session.error) if self.session and self.session.error else None,
        }

    def __repr__(self) -> str:
        n = len(self.trace) if self.trace is not None else 0
        state = "running" if self.running else self.capture.state
        return f"<LiveSession policy={getattr(self.policy, 'name', '?')} {state} turns={n}>"

    # -- wiring ---------------------------------------------------------------------------------
    def _begin(self, capture: CaptureWidget) -> None:
        from nbduplex.session import Session
        from nbduplex.trace import Trace

        if self.session is not None and self.session.running:
            self.session.stop()
            self.session.wait(2.0)
        directory = None
        if self.directory is not None:
            n = len(self.sessions)
            directory = (
                self.directory
                if n == 0
                else self.directory.with_name(f"{self.directory.name}-{n + 1}")
            )
        meta = {"policy": getattr(self.policy, "name", "custom"), "source": "browser"}
        trace = Trace(directory, meta=meta)
        session = Session(
            capture.source(), self.policy, trace=trace, agent=self.agent, speaker=self._voice()
        )
        self.timeline.clear()
        self.timeline.watch(trace)
        self.inspector.trace = trace
        self.agent_trace.trace = trace
        session.add_listener(self.speaker.listener)
        session.add_listener(self.timeline.listener)
        session.add_listener(self.agent_trace.listener)
        self.session = session
        self.sessions.append(session)
        self.controls.attach(session)
        session.start()

    def _voice(self) -> Any:
        if self._speaker_voice is None:
            return None
        if len(self.sessions) == 0:
            return self._speaker_voice
        from nbduplex.speaker import Speaker

        return Speaker(self._speaker_voice.config)

    def _end(self, capture: CaptureWidget) -> None:
        self.speaker.stop()

    def _inspect(self, seq: int) -> None:
        if self.trace is not None:
            try:
                self.inspector.show(seq, self.trace)
            except KeyError as e:
                log.warning("cannot inspect micro-turn %s: %s", seq, e)

    def _playback(self, span: dict) -> None:
        for s in reversed(self.sessions):  # the session whose output was played
            if s.trace.rows and s.trace.rows[0]["seq"] <= span["start_seq"]:
                try:
                    trace_span_writer(s.trace)(span)
                except Exception as e:  # the trace was closed (playback outlived the session)
                    log.info("playback span after the session ended: %s", e)
                return


def live(
    policy: str | Policy = "openai-server-vad",
    *,
    mode: str = "both",
    echo_cancellation: bool = True,
    directory: str | Path | None = None,
    agent: Any = None,
    speaker: Any = None,
    display: bool = True,
    **policy_options: Any,
) -> LiveSession:
    """Show the live widgets and return the LiveSession (press Start in the widget to begin).

    `policy`: "model", a cascade preset (e.g. "openai-server-vad", "pipecat"), "module:attr" or
    a Policy; `policy_options` go to it. `mode`: "audio", "video" or "both". Keep
    `echo_cancellation` on with loudspeakers (the model would hear itself). `directory`: also
    write the trace there as it runs (default: memory only). `agent`: a background agent
    (`True`: a default `nbduplex.agent.BackgroundAgent`), shown live in an agent Gantt.
    """
    lv = LiveSession(
        policy,
        mode=mode,
        echo_cancellation=echo_cancellation,
        directory=directory,
        agent=agent,
        speaker=speaker,
        policy_options=policy_options,
    )
    if display:
        lv.show()
    return lv


class ReplayView:
    """A saved trace in the live widgets: timeline (click to inspect), inspector, agent trace."""

    def __init__(self, trace: Any) -> None:
        if isinstance(trace, str | Path):
            from nbduplex.trace import Trace

            trace = Trace.load(trace)
        self.trace = trace
        seconds = max(1.0, float(getattr(trace, "end_time", 0.0)))
        self.timeline = TimelineWidget(follow=False, px_per_s=max(2.0, min(40.0, 900 / seconds)))
        self.inspector = InspectorWidget(trace)
        self.agent_trace = AgentTraceWidget(trace)
        self.timeline.show_trace(trace)
        self.agent_trace.update(trace.spans, float(getattr(trace, "end_time", 0.0)))
        self.timeline.on_select(lambda seq: self.inspector.show(seq))
        self.widget = ipw.VBox([self.timeline, self.inspector, self.agent_trace])

    def show(self) -> None:
        """Display the widgets in the current cell."""
        from IPython.display import display

        display(self.widget)


def replay(trace: Any, *, display: bool = True) -> ReplayView:
    """Show a saved trace (a Trace or its directory) in the timeline, inspector and agent trace."""
    view = ReplayView(trace)
    if display:
        view.show()
    return view
