"""Offline speech-to-text for spoken requests the policy delegates (PocketSphinx).

The interaction model hears audio but does not transcribe it; when it delegates without a task
text, the agent transcribes the user's last seconds of speech first. PocketSphinx ships its
English model inside its wheel (nothing is downloaded). Measured here: good on flite speech,
poor on espeak-ng speech, about 0.3-1.5 s per utterance on one CPU core, so it runs in the
agent's worker threads and never in the micro-turn loop. PocketSphinx guesses a word even on
pure silence, so audio with less than `min_speech_s` of speech (WebRTC VAD) gives ''.
"""

from __future__ import annotations

import importlib.util
import threading

import numpy as np

from nbduplex.microturn import SAMPLE_RATE


class Transcriber:
    """`transcriber(audio int16 16 kHz) -> text` ('' when nothing was recognised)."""

    def __init__(self, min_speech_s: float = 0.2) -> None:
        self.min_speech_s = min_speech_s  # less speech than this (WebRTC VAD) -> ''
        self._decoder = None
        self._lock = threading.Lock()  # one decoder, one utterance at a time

    @staticmethod
    def available() -> bool:
        """Whether the `pocketsphinx` package is installed."""
        return importlib.util.find_spec("pocketsphinx") is not None

    def __call__(self, audio: np.ndarray) -> str:
        a = np.asarray(audio)
        if a.dtype != np.int16 or a.ndim != 1:
            raise ValueError(f"audio must be 1-D int16 at 16 kHz, got {a.dtype} {a.shape}")
        if not self.available():
            raise RuntimeError("speech recognition needs the pocketsphinx package")
        if self.speech_seconds(a) < self.min_speech_s:
            return ""
        with self._lock:
            if self._decoder is None:
                from pocketsphinx import Decoder

                self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
            d = self._decoder
            d.start_utt()
            d.process_raw(np.ascontiguousarray(a).tobytes(), full_utt=True)
            d.end_utt()
            hyp = d.hyp()
        return " ".join(hyp.hypstr.split()) if hyp is not None else ""

    @staticmethod
    def speech_seconds(audio: np.ndarray) -> float:
        """Seconds of `audio` (int16, 16 kHz) that the WebRTC VAD calls speech."""
        from nbduplex.policies.vad import WebRTCVAD

        vad = WebRTCVAD(aggressiveness=2)
        vad.process(audio)
        return sum(p >= 0.5 for p in vad.frame_probs) * vad.frame_s
