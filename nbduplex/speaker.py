"""The model's voice: turns decided words into audio, time-aligned with the input stream.

The speaker is a sample-accurate output track. `say(text, start_sample)` schedules synthesised
speech to begin at an absolute sample of the stream (a decision on micro-turn k starts speech at
the start of output chunk k + 1); `stop(at_sample)` cuts it off (yield / barge-in);
`render(seq)` returns output chunk `seq`, the 200 ms of model audio that plays while input chunk
`seq` is captured. Finished utterances are reported as spans (start, end, text, interrupted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from nbduplex.microturn import CHUNK_SAMPLES, SAMPLE_RATE

DEFAULT_WORDS = {"backchannel": "mm-hm", "respond": "okay", "interject": "excuse me"}


def words_for(text: str, action: str) -> str:
    """What is actually said: `text`, or a short default per action when it is empty."""
    return text.strip() or DEFAULT_WORDS.get(action, "okay")


@dataclass(slots=True)
class SpeakerConfig:
    """How the model sounds."""

    synth: str = "espeak"  # "espeak" (always available) or "flite" (Debian package)
    voice: str = "en-us"  # synthesiser voice name
    rate: int = 180  # words per minute
    pitch: int = 50  # 0..99 (espeak)
    gain: float = 0.8  # linear gain applied to the synthesised audio


@dataclass(slots=True)
class SpeechSpan:
    """One utterance of the model in stream time (seconds)."""

    start: float
    end: float
    text: str
    interrupted: bool = False


@dataclass(slots=True)
class _Scheduled:
    start: int  # absolute sample where the audio begins
    audio: np.ndarray  # int16
    text: str
    end: int = field(init=False)  # absolute sample after the last one
    interrupted: bool = False

    def __post_init__(self) -> None:
        self.end = self.start + len(self.audio)


class Speaker:
    """Sample-accurate output track of the model's speech.

    `synthesize(text) -> int16 audio at 16 kHz` may be given (tests, custom voices); by default
    text is spoken with nbduplex.tts using `config`.
    """

    def __init__(
        self,
        config: SpeakerConfig | None = None,
        synthesize: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        self.config = config or SpeakerConfig()
        self._synthesize = synthesize or self._tts
        self._lock = threading.Lock()
        self._items: list[_Scheduled] = []  # scheduled utterances, by start, never overlapping
        self.spans: list[SpeechSpan] = []  # finished utterances, in order
        self._rendered_to = 0  # samples rendered so far

    def _tts(self, text: str) -> np.ndarray:
        from nbduplex.tts import synthesize

        c = self.config
        utt = synthesize(text, synth=c.synth, voice=c.voice, rate=c.rate, pitch=c.pitch)
        return utt.audio

    def reset(self) -> None:
        """Forget everything scheduled and said."""
        with self._lock:
            self._items, self.spans, self._rendered_to = [], [], 0

    def synth(self, text: str) -> np.ndarray:
        """The int16 audio that `say(text)` would play (gain applied)."""
        audio = np.asarray(self._synthesize(text), dtype=np.int16)
        if self.config.gain != 1.0:
            audio = np.clip(audio.astype(np.float32) * self.config.gain, -32768, 32767)
            audio = audio.astype(np.int16)
        return audio

    def say(self, text: str, start_sample: int, *, action: str = "respond") -> float:
        """Schedule `text` to start at `start_sample`; replaces anything still playing then.

        Returns the utterance's duration in seconds. Empty text uses a short default per action.
        """
        text = words_for(text, action)
        audio = self.synth(text)
        item = _Scheduled(max(int(start_sample), self._rendered_to), audio, text)
        with self._lock:
            self._cut(item.start)
            self._items.append(item)
        return len(audio) / SAMPLE_RATE

    def stop(self, at_sample: int) -> bool:
        """Cut all speech from `at_sample` on. Returns True if something was cut."""
        with self._lock:
            return self._cut(max(int(at_sample), self._rendered_to))

    def _cut(self, at: int) -> bool:
        cut = False
        for item in self._items:
            if item.end > at:
                cut = True
                item.interrupted = True
                item.end = max(item.start, at)
        self._retire(lambda item: item.end <= item.start)
        return cut

    def _retire(self, done: Callable[[_Scheduled], bool]) -> None:
        keep = []
        for item in self._items:
            if not done(item):
                keep.append(item)
            elif item.end > item.start:
                span = SpeechSpan(
                    item.start / SAMPLE_RATE, item.end / SAMPLE_RATE, item.text, item.interrupted
                )
                self.spans.append(span)
        self._items = keep

    @property
    def speaking(self) -> bool:
        """Speech is playing or scheduled at or after the current render position."""
        with self._lock:
            return any(item.end > self._rendered_to for item in self._items)

    @property
    def current_text(self) -> str:
        """The text of the utterance that the last rendered chunk played ('' if none)."""
        with self._lock:
            for item in self._items:
                if item.start < self._rendered_to <= item.end:
                    return item.text
            return (
                self.spans[-1].text
                if self.spans and self.spans[-1].end * SAMPLE_RATE >= self._rendered_to
                else ""
            )

    def render(self, seq: int) -> np.ndarray:
        """Output chunk `seq`: (CHUNK_SAMPLES,) int16 of model speech (zeros when silent)."""
        lo, hi = seq * CHUNK_SAMPLES, (seq + 1) * CHUNK_SAMPLES
        out = np.zeros(CHUNK_SAMPLES, np.int16)
        with self._lock:
            for item in self._items:
                a, b = max(item.start, lo), min(item.end, hi)
                if b > a:
                    out[a - lo : b - lo] = item.audio[a - item.start : b - item.start]
            self._rendered_to = max(self._rendered_to, hi)
            self._retire(lambda item: item.end <= hi)
        return out

    def flush(self) -> list[SpeechSpan]:
        """Close the session: cut what was not rendered yet and return all spans."""
        with self._lock:
            self._cut(self._rendered_to)
            self._retire(lambda item: True)
        return list(self.spans)
