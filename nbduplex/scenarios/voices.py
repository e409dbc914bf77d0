"""Voice pools (train / held-out / cross-synthesiser) and random voice settings.

espeak voices are "<accent>+<variant>". The held-out pool is every voice whose accent or
variant is in HELDOUT_ACCENTS / HELDOUT_VARIANTS; the training pool is all the others, so the
two never share an accent or a variant. Pico voices (en-US, en-GB, each also deep) are a second
training synthesiser for the listeners. flite voices (kal, awb, rms, slt, ...) form the
cross-synthesiser set; festival voices flite does not have (ked) form a development set for
choosing between models on robustness (never trained on, never the final scores).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import numpy as np

HELDOUT_ACCENTS = ("en-029", "en-gb-scotland")
HELDOUT_VARIANTS = ("f4", "m7", "klatt3", "Annie", "boris", "linda", "steph2", "iven3", "Mario")
EXCLUDED_VARIANTS = ("whisper", "whisperf", "Demonic", "croak", "UniRobot", "anikaRobot")
EXCLUDED_ACCENTS = ("en-shaw",)  # reads the Shavian alphabet


@dataclass(frozen=True)
class VoiceParams:
    """One speaker: synthesiser, voice and prosody settings."""

    synth: str
    voice: str
    rate: int  # words per minute
    pitch: int  # 0-100
    pitch_range: int  # 0-100
    amplitude: int  # 0-200, 100 = default

    def to_dict(self) -> dict:
        """JSON-able dict."""
        return asdict(self)


@cache
def _espeak_pools() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from nbduplex.tts import espeak

    accents = [a for a in espeak.english_languages() if a not in EXCLUDED_ACCENTS]
    variants = [v for v in espeak.list_variants() if v not in EXCLUDED_VARIANTS]
    train, held = [], []
    for a in accents:
        for v in [None, *variants]:
            name = a if v is None else f"{a}+{v}"
            (held if a in HELDOUT_ACCENTS or v in HELDOUT_VARIANTS else train).append(name)
    return tuple(train), tuple(held)


def train_voices() -> list[str]:
    """espeak voices for training (no held-out accent or variant)."""
    return list(_espeak_pools()[0])


def heldout_voices() -> list[str]:
    """espeak voices held out from training (a held-out accent or variant)."""
    return list(_espeak_pools()[1])


def flite_voices() -> list[str]:
    """flite voices for cross-synthesiser evaluation (empty when flite is missing)."""
    from nbduplex.tts import flite

    return list(flite.list_voices()) if flite.available() else []


def pico_voices() -> list[str]:
    """Pico voices for training the listeners (empty when py-nanotts is missing)."""
    from nbduplex.tts import pico

    return list(pico.list_voices()) if pico.available() else []


def festival_voices() -> list[str]:
    """festival voices for the robustness development set (empty when festival is missing)."""
    from nbduplex.tts import festival

    return list(festival.list_voices())


def voice_pool(synth: str, voices: list[str] | str | None) -> list[str]:
    """Resolve a pool: a list, "train", "heldout", or None (train for espeak, all for pico,
    flite and festival)."""
    if isinstance(voices, list | tuple):
        if not voices:
            raise ValueError("empty voice pool")
        return list(voices)
    others = {
        "pico": (pico_voices, "pip install py-nanotts"),
        "flite": (flite_voices, "apt-get install flite"),
        "festival": (festival_voices, "apt-get install festival festvox-kdlpc16k"),
    }
    if synth in others:
        find, install = others[synth]
        pool = find()
        if not pool:
            from nbduplex.tts import TTSError

            raise TTSError(f"{synth} is not installed ({install})")
        return pool
    if voices in (None, "train"):
        return train_voices()
    if voices == "heldout":
        return heldout_voices()
    raise ValueError(f"voices must be a list, 'train', 'heldout' or None, got {voices!r}")


def sample_voice(rng: np.random.Generator, synth: str, pool: list[str]) -> VoiceParams:
    """A random speaker from `pool` with random rate (130-220 wpm), pitch, range, amplitude."""
    return VoiceParams(
        synth=synth,
        voice=pool[int(rng.integers(len(pool)))],
        rate=int(rng.integers(130, 221)),
        pitch=int(rng.integers(25, 76)),
        pitch_range=int(rng.integers(20, 91)),
        amplitude=int(rng.integers(70, 141)),
    )
