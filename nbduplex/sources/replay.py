"""Replay the input of a saved session (audio, frames, typed text, flags) as micro-turns.

This is what makes counterfactuals possible: run a recorded session again through another
policy and compare. The replayed turns carry the recorded seq, audio, frames, text and flags.
Two fields are reset because they belong to the original run, not to the input: `wall`
(NaN; `paced` sets a fresh one) and `model_speaking` (False; the new run's speaker decides),
unless `keep_model_speaking=True`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nbduplex.microturn import MICROTURN_S, MicroTurn
from nbduplex.sources.base import SourceError


class ReplaySource:
    """A `Source` over a `Trace` object or a saved trace directory."""

    live = False

    def __init__(self, trace_or_dir: Any, *, keep_model_speaking: bool = False) -> None:
        if isinstance(trace_or_dir, str | os.PathLike):
            from nbduplex.trace import Trace

            path = Path(trace_or_dir)
            if not path.is_dir():
                raise SourceError(f"trace directory not found: {path}")
            try:
                self.trace = Trace.load(path)
            except SourceError:
                raise
            except Exception as e:
                msg = " ".join(str(e).split()) or type(e).__name__
                raise SourceError(f"cannot load trace {path}: {msg}") from None
        else:
            self.trace = trace_or_dir
        self.keep_model_speaking = keep_model_speaking
        self.n_turns = len(self.trace)
        self.duration: float | None = self.n_turns * MICROTURN_S

    def __len__(self) -> int:
        return self.n_turns

    def __iter__(self) -> Iterator[MicroTurn]:
        for row in self.trace.rows[: self.n_turns]:
            turn = self.trace.microturn(row["seq"])
            changes: dict[str, Any] = {"wall": math.nan}
            if not self.keep_model_speaking:
                changes["model_speaking"] = False
            yield turn.with_(**changes)

    def close(self) -> None:
        """Nothing to release (the trace stays open for its owner)."""
