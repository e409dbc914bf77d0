"""Festival (the Debian `festival` package) as a third synthesiser: a development set for
choosing between models on robustness, never for training and never for the final scores.

flite is festival's small port and ships some of the same speakers (kal, slt, awb, rms), so
those voices are left out here: `list_voices()` returns the other English festival voices (the
Debian package `festvox-kdlpc16k` installs `ked_diphone`, an American male diphone voice). flite
stays the synthesiser no model choice has heard.

One `festival -b SCRIPT` run per utterance (about 0.35 s): the script selects the voice, sets
duration and intonation targets, synthesises, saves the wave and prints every word's token,
start and end (festival's own segment times, so `timing="segments"`). A token festival expands
into several words ("25" -> "twenty five") keeps one entry spanning them.

rate (wpm) maps to `Duration_Stretch = 1.1 * 175 / rate`; pitch 0-100 moves the intonation
target mean half an octave either way of 105 Hz; pitch range scales its standard deviation
(15 Hz at 50); amplitude scales the waveform (100 = espeak's level).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from functools import cache

from nbduplex.microturn import SAMPLE_RATE
from nbduplex.tts.utterance import TTSError, Utterance, check_request, read_wav, request_params

NAME = "festival"
SHARED_WITH_FLITE = ("kal", "slt", "awb", "rms")  # speakers flite also has: left out
_F0_MEAN, _F0_STD = 105.0, 15.0  # Hz, intonation targets at pitch 50 / range 50
_LEVEL = 0.7  # festival's diphone output peaks near full scale: this brings it to espeak's
# level (peak about -3 dBFS), so that amplitudes above 100 do not clip
_TIMEOUT_S = 30.0


def binary() -> str | None:
    """Path of the festival binary, or None."""
    return shutil.which("festival")


def available() -> bool:
    """True when festival and at least one usable English voice are installed."""
    return binary() is not None and bool(list_voices())


def _run_script(script: str) -> str:
    path = binary()
    if path is None:
        raise TTSError("festival is not installed (apt-get install festival festvox-kdlpc16k)")
    with tempfile.NamedTemporaryFile("w", suffix=".scm", delete=False) as f:
        f.write(script)
    try:
        proc = subprocess.run([path, "-b", f.name], capture_output=True, text=True,
                              timeout=_TIMEOUT_S, check=False)  # fmt: skip
    finally:
        os.unlink(f.name)
    if proc.returncode != 0 or "SIOD ERROR" in proc.stderr + proc.stdout:
        raise TTSError(f"festival failed: {(proc.stderr or proc.stdout).strip()[:200]}")
    return proc.stdout


@cache
def list_voices() -> tuple[str, ...]:
    """Installed festival voices, less those flite also has (empty when festival is missing)."""
    if binary() is None:
        return ()
    out = _run_script('(format t "%l\\n" (voice.list))')
    names = out.strip().strip("()").split()
    return tuple(n for n in names if not any(s in n for s in SHARED_WITH_FLITE))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _script(text: str, voice: str, wav: str, rate: int, pitch: int, pitch_range: int) -> str:
    f0 = _F0_MEAN * 2.0 ** ((pitch - 50) / 100)
    std = _F0_STD * pitch_range / 50
    return f"""
(voice_{voice})
(set! int_lr_params '((target_f0_mean {f0:.1f}) (target_f0_std {std:.1f})
                      (model_f0_mean 170) (model_f0_std 34)))
(Parameter.set 'Duration_Stretch {1.1 * 175.0 / rate:.4f})
(set! utt (SynthText {_quote(text)}))
(utt.save.wave utt {_quote(wav)} 'riff)
(mapcar (lambda (w) (format t "W\\t%s\\t%s\\t%f\\t%f\\n"
          (item.feat w "R:Token.parent.id") (item.feat w "R:Token.parent.name")
          (item.feat w "word_start") (item.feat w "word_end")))
        (utt.relation.items utt 'Word))
"""


def _words(stdout: str, duration: float) -> tuple[tuple[str, float, float], ...]:
    """One (token, start, end) per token, from the script's per-word lines."""
    tokens: list[list] = []  # [id, name, start, end]
    for line in stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 5 or parts[0] != "W":
            continue
        tid, name, s, e = parts[1], parts[2], float(parts[3]), float(parts[4])
        if tokens and tokens[-1][0] == tid:
            tokens[-1][3] = e
        else:
            tokens.append([tid, name, s, e])
    out, last = [], 0.0
    for _, name, s, e in tokens:
        s = min(max(s, last), duration)
        e = min(max(e, s), duration)
        out.append((name, s, e))
        last = e
    return tuple(out)


def synthesize(
    text: str,
    voice: str = "ked_diphone",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    amplitude: int = 100,
) -> Utterance:
    """Speak `text` with festival; 16 kHz int16 audio and (word, start_s, end_s) timings."""
    check_request(NAME, text, rate, pitch, pitch_range, amplitude)
    if voice not in list_voices():
        raise TTSError(f"unknown festival voice {voice!r}; usable: {', '.join(list_voices())}")
    clean = " ".join(text.split())
    with tempfile.TemporaryDirectory(prefix="nbduplex-festival-") as tmp:
        wav = os.path.join(tmp, "out.wav")
        stdout = _run_script(_script(clean, voice, wav, rate, pitch, pitch_range))
        audio = read_wav(wav, _LEVEL * amplitude / 100)
    words = _words(stdout, len(audio) / SAMPLE_RATE)
    params = request_params(rate, pitch, pitch_range, amplitude)
    return Utterance(audio, words, NAME, voice, text, params, "segments")
