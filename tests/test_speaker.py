"""Speaker: sample-accurate scheduling, cut-off on yield, spans; real espeak-ng voice."""

import numpy as np
import pytest

from nbduplex.microturn import CHUNK_SAMPLES
from nbduplex.speaker import Speaker


def tone_synth(text: str) -> np.ndarray:
    """1000 non-zero samples per character: durations are exact and easy to check."""
    return np.full(len(text) * 1000, 1000, np.int16)


def test_speech_starts_at_the_requested_sample_and_ends_on_time():
    sp = Speaker(synthesize=tone_synth)
    sp.config.gain = 1.0
    sp.say("hello", CHUNK_SAMPLES)  # 5000 samples from the start of chunk 1
    chunks = [sp.render(k) for k in range(4)]
    assert [int(np.count_nonzero(c)) for c in chunks] == [0, 3200, 1800, 0]
    assert sp.spans[0].start == pytest.approx(0.2)
    assert sp.spans[0].end == pytest.approx(0.2 + 5000 / 16000)
    assert not sp.spans[0].interrupted


def test_stop_cuts_exactly_and_marks_interrupted():
    sp = Speaker(synthesize=tone_synth)
    sp.say("a long sentence here", 0)  # 20000 samples
    sp.render(0)
    assert sp.speaking
    assert sp.stop(CHUNK_SAMPLES + 100)
    assert int(np.count_nonzero(sp.render(1))) == 100
    assert not np.any(sp.render(2))
    assert not sp.speaking
    assert sp.spans[-1].interrupted
    assert sp.spans[-1].end == pytest.approx((CHUNK_SAMPLES + 100) / 16000)


def test_cannot_rewrite_the_past():
    sp = Speaker(synthesize=tone_synth)
    sp.render(0)
    sp.render(1)
    sp.say("hi", 0)  # already rendered: starts at the render position instead
    assert int(np.count_nonzero(sp.render(2))) == 2000


def test_new_utterance_replaces_the_rest_of_the_old_one():
    sp = Speaker(synthesize=tone_synth)
    sp.say("x" * 10, 0)
    sp.render(0)
    sp.say("yy", CHUNK_SAMPLES)
    assert int(np.count_nonzero(sp.render(1))) == 2000
    texts = [s.text for s in sp.flush()]
    assert texts == ["x" * 10, "yy"]


def test_flush_closes_the_utterance_in_progress():
    sp = Speaker(synthesize=tone_synth)
    sp.say("abcdefghij", 0)
    sp.render(0)
    spans = sp.flush()
    assert len(spans) == 1 and spans[0].interrupted
    assert spans[0].end == pytest.approx(0.2)


def test_real_espeak_voice_is_audible():
    sp = Speaker()
    dur = sp.say("okay, I hear you", CHUNK_SAMPLES)
    assert 0.5 < dur < 3.0
    n = int(np.ceil(dur / 0.2)) + 2
    audio = np.concatenate([sp.render(k) for k in range(n)])
    assert not np.any(audio[:CHUNK_SAMPLES])
    assert np.abs(audio[CHUNK_SAMPLES:].astype(float)).max() > 1000
