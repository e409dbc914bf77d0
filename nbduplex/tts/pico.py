"""SVOX Pico (the `py-nanotts` wheel, which ships the engine and its lingware) as a second
*training* synthesiser for the small listeners (reader, turn-end detector, cue spotter).

Pico is a statistical-parametric (HMM) synthesiser, unlike espeak (formant) and flite /
festival (diphone and cluster units), so it widens what the listeners hear in training while
flite stays unseen by every model choice. Two English speakers (en-US "lh0", en-GB "kh0"), each
also at a deep pitch ("-deep", 0.62x): four voices.

Word timings (`timing="aligned"`): Pico reports none, so every word is also spoken on its own
(with the same settings) and the concatenation of those words is aligned onto the utterance
(dynamic time warping of log-mel frames, 12.5 ms): the next word starts at the first loud frame
after where the alignment puts the end of a word's own recording (so a comma's pause stays
between them), and each word ends at its last loud frame before the next one starts. This
costs about one more synthesis of the text.

rate (wpm) maps to Pico's speed rate / 160 (Pico's default speaks at about espeak's rate 160);
pitch 0-100 moves the voice's pitch half an octave either way; pitch range is not adjustable
(ignored); amplitude scales Pico's volume so that 100 peaks near espeak's level (-3 dBFS).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from nbduplex.microturn import SAMPLE_RATE
from nbduplex.tts.utterance import (
    TTSError,
    Utterance,
    check_request,
    close_word_ends,
    frame_energy_db,
    request_params,
    speech_bounds,
)

NAME = "pico"
_SPEAKERS = {"en-US": "en-US", "en-GB": "en-GB"}  # voice prefix -> Pico language
_DEEP = 0.62  # pitch multiplier of the "-deep" voices (about 105 Hz instead of 170 Hz)
_RATE_AT_SPEED_1 = 160.0  # wpm (VoiceParams.rate) that Pico's speed 1.0 matches
_HOP = 200  # samples per log-mel frame
_VOLUME = 0.5  # Pico's volume at amplitude 100: full volume clips about 1 % of samples


@cache
def _engine():
    try:
        from py_nanotts import NanoTTS
    except ImportError as e:  # the wheel exists for Linux x86-64 only
        raise TTSError("pico needs the py-nanotts package (pip install py-nanotts)") from e
    return NanoTTS()


def available() -> bool:
    """True when the `py-nanotts` package imports (Linux x86-64 wheels)."""
    try:
        _engine()
    except TTSError:
        return False
    return True


def list_voices() -> tuple[str, ...]:
    """en-US, en-GB and their deep-pitched versions."""
    return tuple(v for s in _SPEAKERS for v in (s, f"{s}-deep"))


def _speak(text: str, language: str, speed: float, pitch: float, volume: float) -> np.ndarray:
    try:
        pcm = _engine().speak(text, voice=language, speed=speed, pitch=pitch, volume=volume)
    except Exception as e:  # the extension raises RuntimeError on engine errors
        raise TTSError(f"pico failed: {e}") from e
    return np.frombuffer(pcm, np.int16)


def synthesize(
    text: str,
    voice: str = "en-US",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    amplitude: int = 100,
) -> Utterance:
    """Speak `text` with Pico; 16 kHz int16 audio and (word, start_s, end_s) timings."""
    check_request(NAME, text, rate, pitch, pitch_range, amplitude)
    if voice not in list_voices():
        raise TTSError(f"unknown pico voice {voice!r}; choose one of {', '.join(list_voices())}")
    language = _SPEAKERS[voice.removesuffix("-deep")]
    factor = (_DEEP if voice.endswith("-deep") else 1.0) * 2.0 ** ((pitch - 50) / 100)
    settings = (rate / _RATE_AT_SPEED_1, factor, _VOLUME * amplitude / 100)
    clean = " ".join(text.split())
    audio = np.array(_speak(clean, language, *settings))  # a writable copy of the buffer
    if audio.size == 0:
        raise TTSError(f"pico produced no audio for {text!r}")
    audio.setflags(write=False)
    words = _word_times(clean, language, settings, audio)
    params = request_params(rate, pitch, pitch_range, amplitude)
    return Utterance(audio, words, NAME, voice, text, params, "aligned")


def _word_times(text: str, language: str, settings: tuple, audio: np.ndarray):
    """(token, start, end) by aligning the words spoken one by one (see the module docstring)."""
    toks = [t.strip(" ,.;:!?\"'()-") for t in text.split()]
    toks = [t for t in toks if t]
    if not toks:
        return ()
    dur = len(audio) / SAMPLE_RATE
    first, last = (x / SAMPLE_RATE for x in speech_bounds(audio))
    pieces, bounds = [], []  # each word's trimmed frames; the row where each word ends
    for tok in toks:
        a = _speak(tok, language, *settings)
        lo, hi = speech_bounds(a)
        f = _frames(a[lo:hi]) if hi - lo > 4 * _HOP else np.zeros((1, 80), np.float32)
        pieces.append(f)
        bounds.append(sum(len(p) for p in pieces))
    lo, hi = speech_bounds(audio)
    path = _align(np.concatenate(pieces), _frames(audio[lo:hi]))  # full frame of each row
    ends = np.array([lo / SAMPLE_RATE + (path[r - 1] + 1) * _HOP / SAMPLE_RATE for r in bounds])
    ends[-1] = last
    ends = np.clip(np.maximum.accumulate(ends), first, last)
    loud = frame_energy_db(audio)
    loud = loud > loud.max() - 30.0 if loud.size else loud
    starts, start = [], first
    for end in ends:
        starts.append(min(start, float(end)))
        later = np.flatnonzero(loud[int(round(end * 100)) :])  # 10 ms frames
        start = min(dur, float(end) + later[0] / 100) if later.size else float(end)
    # an aligned end can fall into the pause after the word: end at its last loud frame
    return tuple(zip(toks, starts, close_word_ends(starts, audio), strict=True))


def _frames(audio: np.ndarray) -> np.ndarray:
    """(frames, 80) log-mel, 12.5 ms hop."""
    from nbduplex.features.dmel import dmel_log_mel_numpy

    return dmel_log_mel_numpy(audio).astype(np.float32)


_STEPS = 4  # a row (reference frame) may move the utterance on by 0..3 frames


def _align(ref: np.ndarray, full: np.ndarray) -> np.ndarray:
    """For each frame (row) of `ref`, the frame of `full` it is aligned to: dynamic time warping
    from (0, 0) to (last, last) with steps (1, 0..3) in (ref, full) frames."""
    sq = (ref**2).sum(1)[:, None] + (full**2).sum(1)[None, :] - 2.0 * ref @ full.T
    cost = np.sqrt(np.maximum(sq, 0.0))  # (m, n) Euclidean frame distances
    m, n = cost.shape
    d = np.full(n, np.inf)
    d[0] = cost[0, 0]
    back = np.zeros((m, n), np.int8)  # how far the utterance moved to reach (i, j)
    for i in range(1, m):
        best, move = d.copy(), np.zeros(n, np.int8)
        for k in range(1, _STEPS):
            cand = np.full(n, np.inf)
            cand[k:] = d[:-k]
            better = cand < best
            best[better], move[better] = cand[better], k
        d, back[i] = cost[i] + best, move
    path, j = np.zeros(m, int), n - 1
    for i in range(m - 1, -1, -1):
        path[i] = j
        j = max(0, j - int(back[i, j]))
    return path
