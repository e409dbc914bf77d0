"""espeak-ng through ctypes, from the `espeakng-loader` wheel (no apt, no subprocess).

The library runs in AUDIO_OUTPUT_SYNCHRONOUS mode: `espeak_Synth` calls our callback with
22050 Hz samples and events; WORD events carry the word's character position and its
`audio_position` (ms), which give word start times; word ends are taken from the audio energy
before the next word. espeak jitters its output with random numbers (its own generator and
libc's rand()); both are seeded from the text before every call, so the same arguments always
give the same samples. Output is resampled to 16 kHz int16. espeak-ng is global state, so all
calls go through one lock; each call loads the library afresh (see `_private_copy`).

Voices are "<language>[+<variant>]", e.g. "en", "en-us+f3", "en-gb-x-rp+m7", "en+klatt2".
"""

from __future__ import annotations

import _ctypes
import atexit
import contextlib
import ctypes
import os
import re
import shutil
import tempfile
import threading
import zlib
from collections.abc import Iterator
from functools import cache

import numpy as np

from nbduplex.microturn import SAMPLE_RATE, float_to_int16, resample
from nbduplex.tts.utterance import TTSError, Utterance, close_word_ends

NAME = "espeak"

# espeak_AUDIO_OUTPUT, espeak_EVENT_TYPE, espeak_PARAMETER, flags (speak_lib.h)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_LIST_TERMINATED, _EVENT_WORD = 0, 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0

# ranges accepted by espeak-ng
RATE_RANGE = (80, 450)  # words per minute
PITCH_RANGE = (0, 100)  # base pitch, 50 = voice default
RANGE_RANGE = (0, 100)  # pitch range (intonation), 50 = default
AMPLITUDE_RANGE = (0, 200)  # volume, 100 = default


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character index
        ("length", ctypes.c_int),  # characters in the word
        ("audio_position", ctypes.c_int),  # ms from the start of this synth call
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)

_lock = threading.RLock()
_state: dict = {"pid": None, "path": None, "data": None}
_collect: dict = {"samples": [], "words": []}
_INIT_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: report errors instead of exit()


@_CALLBACK
def _on_synth(wav, numsamples, events):
    if numsamples > 0 and wav:
        _collect["samples"].append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
    i = 0
    while events and events[i].type != _EVENT_LIST_TERMINATED:
        ev = events[i]
        if ev.type == _EVENT_WORD:
            _collect["words"].append((ev.text_position, ev.length, ev.audio_position))
        i += 1
    return 0  # 0 = continue synthesis


def available() -> bool:
    """True when the espeakng-loader wheel and its library can be loaded."""
    try:
        with _library():
            pass
    except TTSError:
        return False
    return True


def _private_copy() -> tuple[str, str]:
    """(path of this process's private copy of libespeak-ng, data directory).

    espeak-ng keeps synthesis state in C statics that espeak_Initialize does not reset (e.g.
    the pitch-flutter phase), so output would depend on everything synthesised before. Loading
    a private copy afresh for every call (dlopen, synthesise, dlclose) resets them; a copy that
    nobody else opens is really unloaded by dlclose. Costs about 1-5 ms per call.
    """
    if _state["path"] and _state["pid"] == os.getpid():
        return _state["path"], _state["data"]
    try:
        import espeakng_loader

        src, data = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
        tmp = tempfile.mkdtemp(prefix="nbduplex-espeak-")
        path = os.path.join(tmp, "libespeak-ng-nbduplex.so")
        shutil.copyfile(src, path)
    except (ImportError, OSError, RuntimeError) as exc:
        raise TTSError(f"espeak-ng library unavailable (espeakng-loader): {exc}") from exc
    atexit.register(shutil.rmtree, tmp, True)
    _state.update(pid=os.getpid(), path=path, data=data)
    return path, data


@contextlib.contextmanager
def _library() -> Iterator[tuple[ctypes.CDLL, int]]:
    """A freshly loaded and initialised libespeak-ng and its sample rate, unloaded on exit."""
    with _lock:
        path, data = _private_copy()
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise TTSError(f"cannot load libespeak-ng: {exc}") from exc
        try:
            _declare(lib)
            rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(), _INIT_DONT_EXIT
            )
            if rate <= 0:
                raise TTSError(f"espeak_Initialize failed ({rate}) with data at {data}")
            lib.espeak_SetSynthCallback(_on_synth)
            yield lib, rate
        finally:
            lib.espeak_Terminate()
            _ctypes.dlclose(lib._handle)


def _declare(lib: ctypes.CDLL) -> None:
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint),
        ctypes.c_void_p,
    ]
    lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))


@cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None)
    libc.srand.argtypes = [ctypes.c_uint]
    return libc


def _list(spec: str | None) -> list[tuple[str, str]]:
    """(identifier, languages) of voices, or of variants when spec == 'variant'."""
    with _library() as (lib, _):
        if spec is None:
            arr = lib.espeak_ListVoices(None)
        else:
            v = _Voice(name=None, languages=spec.encode(), identifier=None)
            arr = lib.espeak_ListVoices(ctypes.byref(v))
        out, i = [], 0
        while arr[i]:
            v = arr[i].contents
            langs = (v.languages or b"")[1:].split(b"\0")[0].decode(errors="replace")
            out.append(((v.identifier or b"").decode(errors="replace"), langs))
            i += 1
    return out


@cache
def _voice_names() -> dict[str, str]:
    """Accepted language voice names -> the name espeak loads: identifier basenames
    ("en", "en-us", "en-gb-x-rp", ...) and language codes that differ ("en-gb" -> "en")."""
    names: dict[str, str] = {}
    for ident, lang in _list(None):
        base = ident.rsplit("/", 1)[-1].lower()
        if re.fullmatch(r"[a-z0-9_-]+", base):
            names[base] = base
            if lang and lang not in names:
                names[lang] = base
    return names


def list_languages() -> tuple[str, ...]:
    """Language voice names (e.g. 'en', 'en-us', 'en-gb-x-rp', 'fr', ...), sorted."""
    return tuple(sorted({v for v in _voice_names().values()}))


@cache
def list_variants() -> tuple[str, ...]:
    """Variant names usable after '+' (e.g. 'f3', 'm7', 'klatt2', 'whisper'), sorted."""
    names = {ident.rsplit("/", 1)[-1] for ident, _ in _list("variant")}
    return tuple(sorted(n for n in names if re.fullmatch(r"[A-Za-z0-9_-]+", n)))


def english_languages() -> tuple[str, ...]:
    """The English accents espeak-ng ships (en, en-us, en-gb-x-rp, en-gb-scotland, ...)."""
    return tuple(lang for lang in list_languages() if lang == "en" or lang.startswith("en-"))


def list_voices(english_only: bool = True) -> list[str]:
    """Every "<language>+<variant>" voice (plus the plain languages) for English or all."""
    langs = english_languages() if english_only else list_languages()
    return [*langs, *(f"{lang}+{v}" for lang in langs for v in list_variants())]


def canonical_voice(voice: str) -> str:
    """The name espeak loads for `voice` ("en-GB+f3" -> "en+f3"); TTSError if unknown."""
    if not isinstance(voice, str):
        raise TTSError(f"voice must be a string, got {type(voice).__name__}")
    lang, _, variant = voice.partition("+")
    base = _voice_names().get(lang.lower())
    if base is None:
        raise TTSError(f"unknown espeak voice language {lang!r} (see list_languages())")
    if variant and variant not in list_variants():
        raise TTSError(f"unknown espeak voice variant {variant!r} (see list_variants())")
    return f"{base}+{variant}" if variant else base


def check_voice(voice: str) -> None:
    """Raise TTSError unless `voice` names an installed language and variant."""
    canonical_voice(voice)


def synthesize(
    text: str,
    voice: str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    amplitude: int = 100,
) -> Utterance:
    """Speak `text` with espeak-ng; 16 kHz int16 audio and (word, start_s, end_s) timings.

    rate: words per minute (80-450); pitch, pitch_range: 0-100; amplitude: 0-200.
    Raises TTSError on empty text, an unknown voice or parameters out of range.
    """
    if not isinstance(text, str) or not text.strip():
        raise TTSError("cannot synthesise empty text")
    voice = canonical_voice(voice)
    params = {"rate": rate, "pitch": pitch, "range": pitch_range, "amplitude": amplitude}
    for (key, value), (lo, hi) in zip(
        params.items(), (RATE_RANGE, PITCH_RANGE, RANGE_RANGE, AMPLITUDE_RANGE), strict=True
    ):
        if not lo <= value <= hi:
            raise TTSError(f"espeak {key}={value} is outside [{lo}, {hi}]")
    data = text.encode("utf-8")
    with _library() as (lib, native):
        if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise TTSError(f"espeak could not load voice {voice!r}")
        for pid, value in zip((_RATE, _PITCH, _RANGE, _VOLUME), params.values(), strict=True):
            lib.espeak_SetParameter(pid, int(value), 0)
        seed = zlib.crc32(data)
        lib.espeak_ng_SetRandSeed(seed)
        _libc().srand(seed)
        _collect["samples"], _collect["words"] = [], []
        err = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        samples, events = _collect["samples"], _collect["words"]
        _collect["samples"], _collect["words"] = [], []
    if err != _EE_OK:
        raise TTSError(f"espeak_Synth failed with error {err}")
    raw = np.concatenate(samples) if samples else np.zeros(0, np.int16)
    audio = float_to_int16(resample(raw.astype(np.float32) / 32768.0, native, SAMPLE_RATE))
    audio.setflags(write=False)
    return Utterance(
        audio,
        _words(text, events, audio),
        NAME,
        voice,
        text,
        {k: float(v) for k, v in params.items()},
    )


def _words(text: str, events: list[tuple[int, int, int]], audio: np.ndarray):
    dur = len(audio) / SAMPLE_RATE
    names, starts, spans = [], [], []
    for pos, length, ms in events:
        a = max(0, pos - 1)
        if spans and a < spans[-1][1]:  # a number read as several words ("23"): one token
            spans[-1] = (spans[-1][0], max(spans[-1][1], a + length))
        else:
            spans.append((a, a + length))
            starts.append(min(max(ms / 1000.0, starts[-1] if starts else 0.0), dur))
    names = [text[a:b].strip(" ,.;:!?\"'()-") for a, b in spans]
    ends = close_word_ends(starts, audio)
    return tuple((w, s, e) for w, s, e in zip(names, starts, ends, strict=True))
