"""flite (the Debian `flite` binary) as a second synthesiser, for cross-synthesiser evaluation.

Runs `flite -voice V -psdur -t TEXT -o OUT.wav` in a subprocess and resamples to 16 kHz int16
(kal is 8 kHz, the others 16 kHz). Word timings (`timing="segments"`): `-psdur` prints every
phone with its end time; a second cheap run on the text with a full stop after every word gives
the number of phones of each word, and the phones of the real run are dealt out to the words in
order. If the counts disagree (post-lexical rules), times are spread over the speech region in
proportion to word length (`timing="estimated"`).

rate (wpm) maps to `duration_stretch = 175 / rate`; pitch 0-100 moves `int_f0_target_mean`
half an octave either way of the voice's default (rms ignores it); pitch range scales
`int_f0_target_stddev`; amplitude scales the waveform (100 = unchanged).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from functools import cache, lru_cache

import numpy as np

from nbduplex.microturn import SAMPLE_RATE
from nbduplex.tts.utterance import (
    TTSError,
    Utterance,
    check_request,
    close_word_ends,
    read_wav,
    request_params,
    speech_bounds,
)

NAME = "flite"
_F0 = {"kal": 105.0, "kal16": 105.0, "awb": 110.0, "rms": 100.0, "slt": 165.0}  # Hz, defaults
_F0_STD = 18.0  # Hz, nominal default f0 standard deviation
_LIMITED_DOMAIN = {"awb_time"}  # only speaks clock times
_TIMEOUT_S = 30.0


def binary() -> str | None:
    """Path of the flite binary, or None."""
    return shutil.which("flite")


def available() -> bool:
    """True when the `flite` binary is installed (Debian package `flite`)."""
    return binary() is not None


def _require() -> str:
    path = binary()
    if path is None:
        raise TTSError("flite is not installed (apt-get install flite); use synth='espeak'")
    return path


@cache
def list_voices(include_limited: bool = False) -> tuple[str, ...]:
    """Voices of `flite -lv` (kal, kal16, awb, rms, slt, ...); limited-domain ones excluded."""
    out = subprocess.run(
        [_require(), "-lv"], capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
    ).stdout
    names = out.split(":", 1)[-1].split()
    return tuple(n for n in names if include_limited or n not in _LIMITED_DOMAIN)


def _run(args: list[str]) -> str:
    proc = subprocess.run(
        [_require(), *args], capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
    )
    if proc.returncode != 0:
        raise TTSError(f"flite failed ({proc.returncode}): {proc.stderr.strip()[:200]}")
    return proc.stdout


def _phones(stdout: str) -> list[tuple[str, float]]:
    return [(p, float(t)) for p, t in re.findall(r"(\S+):([0-9.]+)", stdout)]


def synthesize(
    text: str,
    voice: str = "slt",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    amplitude: int = 100,
) -> Utterance:
    """Speak `text` with flite; 16 kHz int16 audio and (word, start_s, end_s) timings."""
    check_request(NAME, text, rate, pitch, pitch_range, amplitude)
    if voice not in list_voices(include_limited=True):
        raise TTSError(f"unknown flite voice {voice!r}; installed: {', '.join(list_voices())}")
    f0 = _F0.get(voice, 120.0) * 2.0 ** ((pitch - 50) / 100)
    feats = [
        *("--setf", f"duration_stretch={175.0 / rate:.4f}"),
        *("--setf", f"int_f0_target_mean={f0:.1f}"),
        *("--setf", f"int_f0_target_stddev={_F0_STD * pitch_range / 50:.1f}"),
    ]
    clean = " ".join(text.split())
    with tempfile.TemporaryDirectory(prefix="nbduplex-flite-") as tmp:
        wav = os.path.join(tmp, "out.wav")
        phones = _phones(_run(["-voice", voice, *feats, "-psdur", "-t", clean, "-o", wav]))
        audio = read_wav(wav, amplitude / 100)
    words, timing = _word_times(clean, voice, phones, audio)
    params = request_params(rate, pitch, pitch_range, amplitude)
    return Utterance(audio, words, NAME, voice, text, params, timing)


def _tokens(text: str) -> list[str]:
    toks = [t.strip(" ,.;:!?\"'()-") for t in text.split()]
    return [t for t in toks if t]


def _word_times(text: str, voice: str, phones, audio: np.ndarray):
    toks = _tokens(text)
    dur = len(audio) / SAMPLE_RATE
    if not toks:
        return (), "estimated"
    counts = _phone_counts(tuple(toks), voice)
    real = [(i, p) for i, (p, _) in enumerate(phones) if p != "pau"]
    if counts and sum(counts) == len(real):
        starts, k = [], 0
        for c in counts:
            i = real[k][0]
            starts.append(phones[i - 1][1] if i > 0 else 0.0)  # previous phone's end
            k += c
        starts = [min(s, dur) for s in starts]
        timing = "segments"
    else:
        a, b = speech_bounds(audio)
        lens = np.array([len(t) + 1.0 for t in toks])
        edges = a / SAMPLE_RATE + np.concatenate([[0.0], np.cumsum(lens)]) / lens.sum() * (
            (b - a) / SAMPLE_RATE
        )
        starts, timing = [float(x) for x in edges[:-1]], "estimated"
    ends = close_word_ends(starts, audio)
    return tuple(zip(toks, starts, ends, strict=True)), timing


@lru_cache(maxsize=4096)
def _phone_counts(toks: tuple[str, ...], voice: str) -> tuple[int, ...]:
    """Phones per token, from one run with a full stop after every token (pauses split them)."""
    out = _run(["-voice", voice, "-psdur", "-t", " ".join(f"{t}." for t in toks), "-o", "none"])
    counts, n = [], 0
    for p, _ in _phones(out):
        if p == "pau":
            if n:
                counts.append(n)
            n = 0
        else:
            n += 1
    if n:
        counts.append(n)
    return tuple(counts) if len(counts) == len(toks) else ()
