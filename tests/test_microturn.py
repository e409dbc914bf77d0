"""MicroTurn contract: every chunk becomes exactly 3200 int16 samples, and fixes are flagged."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nbduplex.decision import ACTIONS, Action, Decision
from nbduplex.microturn import (
    CHUNK_SAMPLES,
    Flag,
    MicroTurn,
    TextEvent,
    conform_audio,
    rms_dbfs,
    split_chunks,
)


def test_exact_chunk_passes_through_untouched():
    a = (np.arange(CHUNK_SAMPLES) % 200 - 100).astype(np.int16)
    out, flags = conform_audio(a)
    assert flags == frozenset() and np.array_equal(out, a)


def test_missing_chunk_is_zeros_and_flagged():
    for missing in (None, np.zeros(0, np.int16)):
        out, flags = conform_audio(missing)
        assert flags == {Flag.MISSING} and out.shape == (CHUNK_SAMPLES,) and not out.any()


def test_short_chunk_is_padded_not_dropped():
    out, flags = conform_audio(np.full(1000, 7, np.int16))
    assert Flag.PADDED in flags and out[:1000].tolist() == [7] * 1000 and not out[1000:].any()


def test_long_chunk_is_truncated_and_flagged():
    out, flags = conform_audio(np.ones(5000, np.int16))
    assert Flag.TRUNCATED in flags and out.shape == (CHUNK_SAMPLES,)


def test_wrong_rate_is_resampled():
    t = np.arange(8820) / 44100
    out, flags = conform_audio((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100)
    assert Flag.RESAMPLED in flags and out.shape == (CHUNK_SAMPLES,)
    spectrum = np.abs(np.fft.rfft(out.astype(float)))
    assert abs(np.argmax(spectrum) * 16000 / CHUNK_SAMPLES - 440) < 10


def test_stereo_is_downmixed():
    st_ = np.stack([np.full(3200, 1000, np.int16), np.full(3200, 3000, np.int16)], axis=1)
    out, flags = conform_audio(st_)
    assert Flag.DOWNMIXED in flags and abs(int(out[0]) - 2000) <= 1


def test_nan_and_inf_are_zeroed_and_flagged():
    a = np.full(3200, 0.25, np.float32)
    a[[3, 10, 20]] = [np.nan, np.inf, -np.inf]
    out, flags = conform_audio(a)
    assert Flag.NONFINITE in flags and out[3] == out[10] == out[20] == 0
    assert abs(int(out[0]) - 8192) <= 1


def test_float_beyond_full_scale_is_clipped():
    out, flags = conform_audio(np.full(3200, 3.0, np.float32))
    assert Flag.CLIPPED in flags and out.max() == 32767


def test_bad_types_raise_clear_errors():
    with pytest.raises(TypeError):
        conform_audio(np.array(["a", "b"]))
    with pytest.raises(ValueError):
        conform_audio(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError):
        conform_audio(np.zeros(10, np.float32), rate=0)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float32, st.integers(1, 9000), elements=st.floats(-2, 2, width=32)),
    st.sampled_from([8000, 16000, 22050, 44100, 48000]),
)
def test_any_float_input_gives_one_valid_chunk(a, rate):
    out, _ = conform_audio(a, rate)
    assert out.dtype == np.int16 and out.shape == (CHUNK_SAMPLES,)


@given(st.integers(0, 20000))
def test_split_chunks_preserves_every_sample(n):
    a = np.arange(n, dtype=np.int32).astype(np.int16)
    parts = split_chunks(a)
    assert sum(len(p) for p in parts) == n and all(len(p) == CHUNK_SAMPLES for p in parts[:-1])


def test_microturn_time_and_text():
    turn = MicroTurn(7, np.zeros(CHUNK_SAMPLES, np.int16), text=(TextEvent("user", "hi"),))
    assert turn.t == pytest.approx(1.4) and turn.user_text == "hi"
    assert turn.with_(seq=8).t == pytest.approx(1.6)


def test_rms_dbfs():
    assert rms_dbfs(np.zeros(100, np.int16)) == -100.0
    assert rms_dbfs(np.full(100, 32767, np.int16)) == pytest.approx(0.0, abs=0.01)


def test_decision_defaults_to_one_hot_probs():
    d = Decision("respond", text="ok")
    assert d.action is Action.RESPOND and d.probs == {a: float(a == "respond") for a in ACTIONS}
    with pytest.raises(ValueError):
        Decision("dance")
