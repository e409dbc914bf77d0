"""A generated scenario (audio, frames, typed text, labels), its Source and its files on disk.

`Scenario.write(dir)` writes:
  input.wav    16 kHz mono PCM16, the whole stream (a multiple of 3200 samples)
  video.y4m    one frame per micro-turn by default, 5 fps (`frames_per_turn` x 5 in general)
  text.json    [{"t": seconds, "role": "user", "text": "..."}] (the CLI's --text SECONDS:TEXT)
  labels.json  Labels.to_dict() (see labels.py)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, SAMPLE_RATE, MicroTurn, TextEvent
from nbduplex.scenarios.labels import Labels


@dataclass
class Scenario:
    """One synthetic stream with ground truth."""

    audio: np.ndarray  # (n_turns * 3200,) int16 16 kHz mono
    frames: list[list[np.ndarray]]  # per micro-turn: (H, W, 3) uint8 RGB frames
    text_events: list[tuple[float, TextEvent]] = field(default_factory=list)  # (t seconds, event)
    labels: Labels = field(default_factory=lambda: Labels("empty", 0, 0.0))

    @property
    def seed(self) -> int:
        """The seed it was generated from."""
        return self.labels.seed

    @property
    def kind(self) -> str:
        """The scenario kind (or "mixture")."""
        return self.labels.kind

    @property
    def n_turns(self) -> int:
        """Number of micro-turns."""
        return len(self.audio) // CHUNK_SAMPLES

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_turns * MICROTURN_S

    def text_at(self, seq: int) -> tuple[TextEvent, ...]:
        """Text events arriving during micro-turn `seq` (t in [0.2 seq, 0.2 (seq + 1)))."""
        return tuple(ev for t, ev in self.text_events if event_seq(t) == seq)

    def microturn(self, seq: int) -> MicroTurn:
        """Micro-turn `seq` as the session loop would see it."""
        if not 0 <= seq < self.n_turns:
            raise IndexError(f"seq {seq} outside 0..{self.n_turns - 1}")
        chunk = self.audio[seq * CHUNK_SAMPLES : (seq + 1) * CHUNK_SAMPLES]
        frames = tuple(self.frames[seq]) if seq < len(self.frames) else ()
        return MicroTurn(seq=seq, audio=chunk, frames=frames, text=self.text_at(seq))

    def source(self) -> ScenarioSource:
        """A Source yielding this scenario's MicroTurns."""
        return ScenarioSource(self)

    def target_actions(self) -> list[str]:
        """The ideal action name per micro-turn (see Labels.target_actions)."""
        return self.labels.target_actions(self.n_turns)

    def write(self, directory: str | Path) -> Path:
        """Write input.wav, video.y4m (if there are frames), text.json and labels.json."""
        import soundfile as sf

        from nbduplex.scenarios.y4m import write_y4m

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        sf.write(d / "input.wav", self.audio, SAMPLE_RATE, subtype="PCM_16")
        per_turn = max((len(f) for f in self.frames), default=0)
        if per_turn:
            frames = [f for fs in self.frames for f in fs]
            write_y4m(d / "video.y4m", frames, fps=int(round(per_turn / MICROTURN_S)))
        events = [{"t": t, "role": e.role, "text": e.text} for t, e in self.text_events]
        (d / "text.json").write_text(json.dumps(events, indent=1))
        (d / "labels.json").write_text(json.dumps(self.labels.to_dict(), indent=1))
        return d


def event_seq(t: float) -> int:
    """The micro-turn during which something at time `t` arrives."""
    return max(0, math.floor(t / MICROTURN_S + 1e-9))


class ScenarioSource:
    """Source over a Scenario: not live, known duration, MicroTurns seq 0..n-1 in order."""

    live = False

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.duration: float | None = scenario.duration
        self._closed = False

    def __iter__(self) -> Iterator[MicroTurn]:
        for seq in range(self.scenario.n_turns):
            if self._closed:
                return
            yield self.scenario.microturn(seq)

    def __len__(self) -> int:
        return self.scenario.n_turns

    def close(self) -> None:
        """Stop iteration early."""
        self._closed = True
