"""The session trace: every micro-turn, decision, span and the media, append-only on disk.

    from nbduplex.trace import Trace
    trace = Trace("runs/a", meta={"policy": "pipecat"})   # or Trace() in memory
    trace.append(turn, decision, out_chunk)                # one per micro-turn, in seq order
    trace.close(); trace = Trace.load("runs/a")            # survives a crash mid-write

Modules: `trace` (the class), `rows` (JSON-native rows and spans), `storage` (the on-disk
format, documented there and in docs/trace-format.md), `tables` (pandas views, speech spans),
`export` (Chrome trace JSON for Perfetto, wav, events.jsonl).
"""

from nbduplex.trace.rows import ROW_KEYS, SPAN_KINDS, TraceError, jsonable
from nbduplex.trace.storage import FORMAT, FORMAT_VERSION
from nbduplex.trace.trace import Trace

__all__ = ["FORMAT", "FORMAT_VERSION", "ROW_KEYS", "SPAN_KINDS", "Trace", "TraceError", "jsonable"]
