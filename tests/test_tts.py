"""Speech synthesis: espeak-ng through ctypes, Pico through its wheel, flite and festival through
their binaries (real synthesis)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.microturn import SAMPLE_RATE
from nbduplex.tts import (
    TTSError,
    Utterance,
    espeak,
    festival,
    flite,
    list_voices,
    pico,
    synthesize,
)

TEXT = "Say go in five seconds, and then stop."


def _check(u: Utterance, n_words: int) -> None:
    assert u.audio.dtype == np.int16 and u.audio.ndim == 1
    assert 0.5 < u.duration < 10
    assert np.sqrt(np.mean(u.audio.astype(np.float64) ** 2)) > 300  # not silent
    assert len(u.words) == n_words
    prev = 0.0
    for _, s, e in u.words:
        assert prev - 1e-9 <= s <= e <= u.duration + 1e-9
        prev = s


def test_espeak_synthesis_16k_int16_with_word_timings():
    u = synthesize(TEXT, voice="en-us")
    _check(u, 8)
    assert [w for w, _, _ in u.words][:3] == ["Say", "go", "in"]
    assert u.synth == "espeak" and u.timing == "events"
    # "stop" is the last word: its audio is louder than the silence after the speech
    w, s, e = u.words[-1]
    seg = u.audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)].astype(np.float64)
    assert w == "stop" and np.abs(seg).mean() > 100


def test_espeak_numbers_are_one_token():
    u = synthesize("what is 17 times 23", voice="en-us")
    assert [w for w, _, _ in u.words] == ["what", "is", "17", "times", "23"]


def test_voices_and_rates_change_the_audio():
    a = synthesize(TEXT, voice="en-us+f3", rate=175)
    b = synthesize(TEXT, voice="en-gb-x-rp+m7", rate=175)
    fast = synthesize(TEXT, voice="en-us+f3", rate=260)
    high = synthesize(TEXT, voice="en-us+f3", rate=175, pitch=90)
    assert a.duration > fast.duration * 1.2
    assert not np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.audio[: len(high.audio)], high.audio[: len(a.audio)])


def test_espeak_lists_english_accents_and_variants():
    langs = espeak.english_languages()
    assert {"en", "en-us", "en-gb-x-rp"} <= set(langs)
    assert {"f3", "m7", "klatt2"} <= set(espeak.list_variants())
    voices = list_voices("espeak")
    assert "en-us+f3" in voices and len(voices) > 200
    assert espeak.canonical_voice("en-GB+f2") == "en+f2"  # language codes are accepted


def test_cache_returns_the_same_read_only_object():
    a = synthesize("cache me", voice="en-us")
    assert synthesize("cache me", voice="en-us") is a
    with pytest.raises(ValueError):
        a.audio[0] = 1


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_text_is_a_clear_error(text):
    with pytest.raises(TTSError, match="empty"):
        synthesize(text)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"voice": "xx-nowhere"}, "unknown espeak voice"),
        ({"voice": "en+nosuchvariant"}, "variant"),
        ({"rate": 5}, "rate"),
        ({"synth": "mbrola"}, "unknown synthesiser"),
    ],
)
def test_bad_arguments_are_clear_errors(kw, msg):
    with pytest.raises(TTSError, match=msg):
        synthesize("hello", **kw)


def test_espeak_is_thread_safe():
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = espeak.synthesize(f"thread number {i}", "en-us").audio

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert np.array_equal(results[i], espeak.synthesize(f"thread number {i}", "en-us").audio)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.sampled_from(["go", "red", "banana", "seven", "um", "window"]), min_size=1, max_size=6
    )
)
def test_word_timings_property(words):
    u = espeak.synthesize(" ".join(words), "en-us")
    assert [w for w, _, _ in u.words] == words
    starts = [s for _, s, _ in u.words]
    assert starts == sorted(starts)
    assert all(0 <= s <= e <= u.duration for _, s, e in u.words)


needs_flite = pytest.mark.skipif(not flite.available(), reason="flite binary not installed")


@needs_flite
def test_flite_synthesis_and_voices():
    voices = list_voices("flite")
    assert {"kal", "slt"} <= set(voices) and "awb_time" not in voices
    u = synthesize(TEXT, synth="flite", voice="slt")
    _check(u, 8)
    assert u.synth == "flite" and u.timing in ("segments", "estimated")
    k = synthesize(TEXT, synth="flite", voice="kal")  # 8 kHz voice, resampled
    _check(k, 8)
    slow = synthesize(TEXT, synth="flite", voice="slt", rate=120)
    assert slow.duration > u.duration * 1.2


@needs_flite
def test_flite_bad_voice():
    with pytest.raises(TTSError, match="unknown flite voice"):
        synthesize("hello", synth="flite", voice="nobody")


needs_festival = pytest.mark.skipif(
    not festival.available(), reason="festival and festvox-kdlpc16k not installed"
)


@needs_festival
def test_festival_synthesis_words_and_voices():
    voices = list_voices("festival")
    assert "ked_diphone" in voices
    assert not any(s in v for v in voices for s in ("kal", "slt", "awb", "rms"))  # flite's
    u = synthesize(TEXT, synth="festival")
    _check(u, 8)
    assert u.synth == "festival" and u.timing == "segments"
    assert [w for w, _, _ in u.words] == [
        "Say",
        "go",
        "in",
        "five",
        "seconds",
        "and",
        "then",
        "stop",
    ]
    ends = [e for _, _, e in u.words]
    assert ends == sorted(ends)
    w, s, e = u.words[-1]  # the last word is sounding where festival says it is
    seg = u.audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)].astype(np.float64)
    assert np.abs(seg).mean() > 300
    slow = synthesize(TEXT, synth="festival", rate=120)
    assert slow.duration > u.duration * 1.2
    hi = synthesize(TEXT, synth="festival", pitch=90, amplitude=50)
    assert np.abs(hi.audio).max() < np.abs(u.audio).max() * 0.7


@needs_festival
def test_festival_expanded_token_quotes_and_bad_voice():
    u = synthesize('He said "go" in 25 seconds', synth="festival")
    assert [w for w, _, _ in u.words] == ["He", "said", "go", "in", "25", "seconds"]
    _, s, e = u.words[4]  # "twenty five": one entry spanning both words
    assert e - s > 0.3
    with pytest.raises(TTSError, match="unknown festival voice"):
        synthesize("hello", synth="festival", voice="kal_diphone")


def test_festival_missing_binary_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(festival.shutil, "which", lambda name: None)
    festival.list_voices.cache_clear()
    try:
        assert not festival.available()
        with pytest.raises(TTSError, match="not installed"):
            festival._run_script("(voice.list)")
    finally:
        festival.list_voices.cache_clear()


def test_flite_missing_binary_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(flite.shutil, "which", lambda name: None)
    assert not flite.available()
    with pytest.raises(TTSError, match="not installed"):
        flite._require()


needs_pico = pytest.mark.skipif(not pico.available(), reason="py-nanotts not installed")


@needs_pico
@pytest.mark.parametrize("voice", ["en-US", "en-GB-deep"])
def test_pico_synthesis_words_level_rate_and_pitch(voice):
    u = synthesize(TEXT, synth="pico", voice=voice)
    _check(u, 8)
    assert u.synth == "pico" and u.timing == "aligned"
    assert [w for w, _, _ in u.words][:3] == ["Say", "go", "in"]
    peak = np.abs(u.audio).max()
    assert 12000 < peak < 32000  # about espeak's level, not clipped
    # the last word sounds where the alignment puts it, and the comma's pause lies between
    # "seconds" and "and"
    w, s, e = u.words[-1]
    seg = u.audio[int(s * SAMPLE_RATE) : int(e * SAMPLE_RATE)].astype(np.float64)
    assert w == "stop" and np.abs(seg).mean() > 300
    assert u.words[5][1] - u.words[4][2] > 0.05
    slow = synthesize(TEXT, synth="pico", voice=voice, rate=110)
    assert slow.duration > u.duration * 1.2
    quiet = synthesize(TEXT, synth="pico", voice=voice, amplitude=50)
    assert np.abs(quiet.audio).max() < peak * 0.7
    lo = synthesize(TEXT, synth="pico", voice=voice, pitch=0)
    assert _f0(lo.audio) < _f0(u.audio) * 0.85


def _f0(audio: np.ndarray) -> float:
    """Median autocorrelation pitch (Hz) of the loud 40 ms frames."""
    x, out = audio.astype(np.float64) / 32768, []
    for i in range(0, x.size - 640, 320):
        f = x[i : i + 640]
        if np.sqrt(np.mean(f**2)) > 0.05:
            r = np.correlate(f, f, "full")[639:]
            out.append(SAMPLE_RATE / (40 + np.argmax(r[40:260])))
    return float(np.median(out))


@needs_pico
def test_pico_voices_and_bad_requests():
    voices = list_voices("pico")
    assert voices == ["en-US", "en-US-deep", "en-GB", "en-GB-deep"]
    assert _f0(synthesize(TEXT, synth="pico", voice="en-US-deep").audio) < 130
    with pytest.raises(TTSError, match="unknown pico voice"):
        synthesize("hello", synth="pico", voice="de-DE")
    with pytest.raises(TTSError, match="empty"):
        synthesize("  ", synth="pico")
    u = synthesize("--- hello", synth="pico")  # a token of punctuation only gets no entry
    assert [w for w, _, _ in u.words] == ["hello"]


def test_pico_missing_package_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "py_nanotts", None)  # import fails
    pico._engine.cache_clear()
    try:
        assert not pico.available()
        with pytest.raises(TTSError, match="py-nanotts"):
            pico.synthesize("hello")
    finally:
        pico._engine.cache_clear()
