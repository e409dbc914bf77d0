"""The result of speech synthesis: 16 kHz int16 audio plus word timings, and helpers on it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nbduplex.microturn import SAMPLE_RATE, float_to_int16, resample


class TTSError(RuntimeError):
    """Synthesis failed: unknown voice, bad parameters, missing synthesiser or library error."""


@dataclass(frozen=True)
class Utterance:
    """Synthesised speech.

    `words` holds (word, start_s, end_s) in seconds from the start of `audio`, monotone and inside
    the audio. `timing` says where the word times came from: "events" (the synthesiser reported
    them), "segments" (phone durations mapped onto words), "aligned" (words spoken one by one,
    aligned onto the utterance) or "estimated" (energy heuristics).
    The audio array is read-only because utterances are cached and shared.
    """

    audio: np.ndarray  # (n,) int16 mono 16 kHz
    words: tuple[tuple[str, float, float], ...]
    synth: str  # "espeak" | "pico" | "flite" | "festival"
    voice: str  # e.g. "en-us+f3" or "slt"
    text: str = ""
    params: dict[str, float] = field(default_factory=dict)  # rate (wpm), pitch, range, amplitude
    timing: str = "events"

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.audio) / SAMPLE_RATE

    def trimmed(self, threshold_db: float = -40.0, margin_s: float = 0.02) -> Utterance:
        """A copy with leading/trailing silence removed (relative to the peak), words shifted."""
        start, end = speech_bounds(self.audio, threshold_db)
        if end <= start:
            return self
        m = int(margin_s * SAMPLE_RATE)
        start, end = max(0, start - m), min(len(self.audio), end + m)
        off, dur = start / SAMPLE_RATE, (end - start) / SAMPLE_RATE
        words = tuple(
            (w, min(max(0.0, s - off), dur), min(max(0.0, e - off), dur)) for w, s, e in self.words
        )
        return _replace_audio(self, self.audio[start:end], words)


def check_request(synth: str, text: str, rate: int, pitch: int, pitch_range: int,
                  amplitude: int) -> None:  # fmt: skip
    """Raise TTSError on empty text or parameters out of range (pico, flite, festival)."""
    if not isinstance(text, str) or not text.strip():
        raise TTSError("cannot synthesise empty text")
    if not 40 <= rate <= 600 or not 0 <= pitch <= 100 or not 0 <= pitch_range <= 100:
        raise TTSError(f"{synth} parameters out of range: rate={rate} pitch={pitch}")
    if not 0 <= amplitude <= 200:
        raise TTSError(f"{synth} amplitude={amplitude} is outside [0, 200]")


def read_wav(path: str, gain: float = 1.0) -> np.ndarray:
    """A synthesiser's wave file at any rate -> read-only 16 kHz int16, scaled by `gain`."""
    import soundfile as sf

    raw, rate_in = sf.read(path, dtype="float32", always_2d=False)
    audio = float_to_int16(np.clip(resample(raw, rate_in) * gain, -1, 1))
    audio.setflags(write=False)
    return audio


def request_params(rate: int, pitch: int, pitch_range: int, amplitude: int) -> dict[str, float]:
    """The prosody settings an Utterance records."""
    return {"rate": float(rate), "pitch": float(pitch), "range": float(pitch_range),
            "amplitude": float(amplitude)}  # fmt: skip


def _replace_audio(u: Utterance, audio: np.ndarray, words) -> Utterance:
    a = np.array(audio, dtype=np.int16)
    a.setflags(write=False)
    return Utterance(a, tuple(words), u.synth, u.voice, u.text, dict(u.params), u.timing)


def frame_energy_db(audio: np.ndarray, frame: int = 160) -> np.ndarray:
    """Level in dB (re full scale) of consecutive `frame`-sample frames (10 ms at 16 kHz)."""
    n = len(audio) // frame
    if n == 0:
        return np.zeros(0)
    x = audio[: n * frame].astype(np.float64).reshape(n, frame) / 32768.0  # (n, frame)
    return 10.0 * np.log10(np.mean(x * x, axis=1) + 1e-12)


def speech_bounds(audio: np.ndarray, threshold_db: float = -40.0) -> tuple[int, int]:
    """(first, last) sample of frames within `threshold_db` of the loudest 10 ms frame."""
    e = frame_energy_db(audio)
    if e.size == 0 or e.max() < -90:
        return 0, 0
    on = np.flatnonzero(e > e.max() + threshold_db)
    return int(on[0] * 160), int((on[-1] + 1) * 160)


def close_word_ends(
    starts: list[float], audio: np.ndarray, threshold_db: float = -30.0
) -> list[float]:
    """Word end times: each word ends at the last loud frame before the next word's start
    (or the end of speech for the last word). Synthesisers report only word starts."""
    e = frame_energy_db(audio)
    if e.size == 0:
        return list(starts)
    loud = e > e.max() + threshold_db
    dur = len(audio) / SAMPLE_RATE
    ends = []
    for i, s in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else dur
        a, b = int(round(s * 100)), int(round(nxt * 100))
        idx = np.flatnonzero(loud[a:b])
        end = (a + idx[-1] + 1) / 100 if idx.size else min(nxt, s + 0.05)
        ends.append(float(min(max(end, s), nxt, dur)))
    return ends
