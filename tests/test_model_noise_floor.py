"""The running noise floor that keeps background speech from counting as the user."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.model.noise_floor import NoiseFloor


def test_the_floor_is_the_quiet_tenth_of_the_last_ten_seconds():
    f = NoiseFloor(window=50, quantile=0.1, margin_db=3.0, min_turns=5)
    assert [f.push(x) for x in (-60.0, -60.0, -60.0, -60.0, -20.0)] == [False] * 5  # no floor
    assert f.floor_db == pytest.approx(-60.0) and f.push(-20.0)  # now a voice stands out
    for _ in range(60):
        f.push(-40.0)
    assert f.floor_db == pytest.approx(-40.0)  # the -60 has left the 50-level window
    assert not f.push(-38.0)  # within 3 dB: background
    assert f.push(-36.0)  # above it: the user
    f.reset()
    assert f.floor_db is None


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-90.0, -20.0),
    st.floats(5.0, 35.0),
    st.integers(0, 2**31 - 1),
)
def test_a_voice_above_steady_noise_stands_out_and_the_noise_does_not(noise_db, snr_db, seed):
    """Noise jittering by +-1 dB never stands out; speech at the scenarios' SNR (5-35 dB)
    always does, once 10 s of noise have set the floor."""
    rng = np.random.default_rng(seed)
    f = NoiseFloor()
    noise = noise_db + rng.uniform(-1.0, 1.0, 80)
    for x in noise[:50]:  # 10 s of noise set the floor
        f.push(x)
    assert not any(f.push(x) for x in noise[50:])
    assert f.push(noise_db + snr_db)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        NoiseFloor(window=0)
    with pytest.raises(ValueError):
        NoiseFloor(window=10, min_turns=11)
    with pytest.raises(ValueError):
        NoiseFloor(quantile=1.5)
