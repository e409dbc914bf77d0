"""Live notebook widgets (anywidget; their JavaScript is in the repository's `widgets/`).

- `CaptureWidget`: browser microphone + camera -> 200 ms chunk messages -> a live Source;
- `SpeakerWidget`: plays the model's voice, reports playback spans;
- `TimelineWidget` + `InspectorWidget`: micro-turn lanes; click one to inspect it;
- `AgentTraceWidget`: Gantt of background tasks; `ControlsWidget`: eagerness, do-not-interrupt;
- `live(policy)` puts them together around a Session; `replay(trace)` shows a saved trace.
"""

from nbduplex.widgets.agent_trace import AgentTraceWidget
from nbduplex.widgets.capture import CaptureError, CaptureWidget
from nbduplex.widgets.controls import ControlsWidget
from nbduplex.widgets.inspector import InspectorWidget
from nbduplex.widgets.live import LiveSession, ReplayView, live, replay
from nbduplex.widgets.speaker import SpeakerWidget
from nbduplex.widgets.timeline import TimelineWidget

__all__ = [
    "AgentTraceWidget",
    "CaptureError",
    "CaptureWidget",
    "ControlsWidget",
    "InspectorWidget",
    "LiveSession",
    "ReplayView",
    "SpeakerWidget",
    "TimelineWidget",
    "live",
    "replay",
]
