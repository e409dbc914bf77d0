"""Cuts the user's stream into candidate utterances for the instruction reader, per micro-turn.

A candidate is the audio from the start of an utterance (speech after at least `end_s` of
silence, with `preroll_s` before it) to `tail_s` after its latest speech frame; it is offered
once, as soon as a pause of `pause_s` follows speech, so an instruction is read in the micro-turn
it ends (or the next one). If the user goes on after the pause, the next candidate holds the
whole utterance so far (at most `max_s`). `consume()` marks the utterance as understood: no
more candidates until a new one starts. The reader's training crops come from this same class
run over rendered scenarios, so training and run time see identical cuts.
"""

from __future__ import annotations

import numpy as np

from nbduplex.microturn import SAMPLE_RATE


class UtteranceSegmenter:
    """`push(chunk) -> candidate audio (int16) or None`, one 200 ms chunk at a time."""

    def __init__(
        self,
        vad=None,
        *,
        threshold: float = 0.5,
        pause_s: float = 0.1,
        end_s: float = 0.5,
        tail_s: float = 0.1,
        preroll_s: float = 0.1,
        min_speech_s: float = 0.4,
        max_s: float = 6.0,
    ) -> None:
        if vad is None:
            from nbduplex.policies.vad import SileroVAD

            vad = SileroVAD()
        self.vad = vad
        self.threshold = threshold  # VAD probability that counts as speech
        self.pause_s, self.end_s, self.tail_s = pause_s, end_s, tail_s
        self.preroll_s, self.min_speech_s, self.max_s = preroll_s, min_speech_s, max_s
        keep = int((max_s + end_s + 1.0) * SAMPLE_RATE)
        self._keep = keep  # samples of history kept
        self.reset()

    def reset(self) -> None:
        """A new session."""
        self.vad.reset()
        self._audio = np.zeros(0, np.int16)  # the last `_keep` samples
        self._total = 0  # stream samples pushed
        self._start: int | None = None  # stream sample where the current utterance starts
        self._last_speech = 0  # stream sample at the end of the latest speech frame
        self._speech = 0  # samples of speech in the current utterance
        self._offered = True  # the current pause already gave a candidate
        self._consumed = False

    @property
    def now(self) -> int:
        """Stream samples pushed so far."""
        return self._total

    @property
    def frame_probs(self) -> list[float]:
        """The VAD's speech probability of each frame of the chunk pushed last."""
        return self.vad.frame_probs

    def consume(self) -> None:
        """The current utterance was understood: offer nothing more from it."""
        self._consumed = True

    def push(self, chunk: np.ndarray) -> np.ndarray | None:
        """Feed one int16 chunk; the candidate utterance when a pause has just begun."""
        chunk = np.asarray(chunk, np.int16)
        self._total += chunk.size
        self._audio = np.concatenate([self._audio, chunk])[-self._keep :]
        offset = self._total - self._audio.size  # stream sample of _audio[0]
        frame = self.vad.frame_samples
        end = int(round(self.vad.frame_end_s * SAMPLE_RATE))
        self.vad.process(chunk)
        for p in self.vad.frame_probs:
            end += frame
            if p >= self.threshold:
                if self._start is None or end - self._last_speech >= self.end_s * SAMPLE_RATE:
                    self._start = max(0, end - frame - int(self.preroll_s * SAMPLE_RATE))
                    self._speech, self._consumed = 0, False
                self._last_speech = end
                self._speech += frame
                self._offered = False
        if self._start is None or self._offered or self._consumed:
            return None
        if self.now - self._last_speech < self.pause_s * SAMPLE_RATE:
            return None
        self._offered = True
        if self._speech < self.min_speech_s * SAMPLE_RATE:
            return None
        stop = min(self.now, self._last_speech + int(self.tail_s * SAMPLE_RATE))
        start = max(self._start, stop - int(self.max_s * SAMPLE_RATE), offset)
        return self._audio[start - offset : stop - offset].copy()

    def span(self, audio: np.ndarray) -> tuple[float, float]:
        """(start, end) stream seconds of a candidate just returned by `push`."""
        stop = min(self.now, self._last_speech + int(self.tail_s * SAMPLE_RATE))
        return (stop - audio.size) / SAMPLE_RATE, stop / SAMPLE_RATE
