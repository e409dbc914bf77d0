"""Full-Duplex-Bench v1 timing metrics on nbduplex traces (see `fdbench.py` for definitions).

from nbduplex.metrics import evaluate, summarize
summarize(evaluate(trace, scenario.labels))
# {'pause.tor': 0.0, 'turn.tor': 1.0, 'turn.latency_s': 0.72, ...}
"""

from nbduplex.metrics.evaluate import evaluate, summarize, table
from nbduplex.metrics.fdbench import (
    BACKCHANNEL_MAX_S,
    STOP_WITHIN_S,
    backchannel,
    pause_handling,
    smooth_turn_taking,
    user_interruption,
)
from nbduplex.metrics.segments import (
    MERGE_GAP_S,
    Segment,
    count_words,
    merge_segments,
    model_segments,
    speech_runs,
    takes_turn,
    trace_duration,
    window_speech,
)

__all__ = [
    "BACKCHANNEL_MAX_S",
    "MERGE_GAP_S",
    "STOP_WITHIN_S",
    "Segment",
    "backchannel",
    "count_words",
    "evaluate",
    "merge_segments",
    "model_segments",
    "pause_handling",
    "smooth_turn_taking",
    "speech_runs",
    "summarize",
    "table",
    "takes_turn",
    "trace_duration",
    "user_interruption",
    "window_speech",
]
