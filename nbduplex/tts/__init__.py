"""Speech synthesis for scenarios and for the model's voice: espeak-ng (ctypes), Pico (a
second training synthesiser for the listeners: see nbduplex.tts.pico), flite (never trained on:
the cross-synthesiser test set) and festival (a development set only: see nbduplex.tts.festival).

    from nbduplex.tts import synthesize, list_voices
    u = synthesize("say go in five seconds", synth="espeak", voice="en-us+f3", rate=190)
    u.audio      # (n,) int16 16 kHz, read-only
    u.words      # (("say", 0.0, 0.21), ("go", 0.21, 0.43), ...)

Results are cached (LRU, keyed on every argument), so repeated phrases cost nothing; the
cached audio is read-only: copy it before changing it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from nbduplex.tts import espeak, festival, flite, pico
from nbduplex.tts.utterance import TTSError, Utterance

SYNTHS = ("espeak", "pico", "flite", "festival")
DEFAULT_VOICE = {"espeak": "en-us", "pico": "en-US", "flite": "slt", "festival": "ked_diphone"}
CACHE_SIZE = 2048  # utterances kept by the synthesis cache


class Synthesizer(Protocol):
    """What a synthesiser module provides (nbduplex.tts.espeak, .pico, .flite, .festival)."""

    NAME: str

    def available(self) -> bool: ...

    def synthesize(
        self,
        text: str,
        voice: str = ...,
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        amplitude: int = 100,
    ) -> Utterance: ...


def get_synthesizer(synth: str) -> Synthesizer:
    """The module behind a synthesiser name; TTSError if unknown."""
    if synth == "espeak":
        return espeak
    if synth == "pico":
        return pico
    if synth == "flite":
        return flite
    if synth == "festival":
        return festival
    raise TTSError(f"unknown synthesiser {synth!r}; choose one of {SYNTHS}")


def available(synth: str) -> bool:
    """True when `synth` can run on this machine."""
    return get_synthesizer(synth).available()


def list_voices(synth: str = "espeak") -> list[str]:
    """Voice names of a synthesiser (espeak: English "<accent>+<variant>"; pico: en-US, en-GB
    and deep-pitched versions; flite: -lv; festival: those flite does not also have)."""
    mod = get_synthesizer(synth)
    return list(mod.list_voices())


def synthesize(
    text: str,
    synth: str = "espeak",
    voice: str | None = None,
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    amplitude: int = 100,
) -> Utterance:
    """Synthesise `text` (cached). rate in words per minute; pitch, pitch_range 0-100;
    amplitude 0-200 (100 = default). Raises TTSError on empty text or an unknown voice."""
    voice = voice or DEFAULT_VOICE.get(synth, "")
    return _cached(text, synth, voice, int(rate), int(pitch), int(pitch_range), int(amplitude))


@lru_cache(maxsize=CACHE_SIZE)
def _cached(
    text: str, synth: str, voice: str, rate: int, pitch: int, pitch_range: int, amplitude: int
) -> Utterance:
    return get_synthesizer(synth).synthesize(text, voice, rate, pitch, pitch_range, amplitude)


def clear_cache() -> None:
    """Forget cached utterances."""
    _cached.cache_clear()


__all__ = [
    "SYNTHS",
    "Synthesizer",
    "TTSError",
    "Utterance",
    "available",
    "clear_cache",
    "get_synthesizer",
    "list_voices",
    "synthesize",
]
