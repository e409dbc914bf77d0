"""Tests for nbduplex.features: mel filters, dMel (numpy == torch == streaming), patches, text."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.features import (
    BOS,
    DEFAULT_CONFIG,
    EOS,
    PAD,
    DMelConfig,
    StreamingDMel,
    blank_patches,
    bytes_to_text,
    decode_text_tokens,
    dmel_codes,
    dmel_codes_numpy,
    dmel_codes_torch,
    dmel_levels,
    dmel_log_mel_numpy,
    dmel_log_mel_torch,
    downscale,
    encode_text_tokens,
    frame_to_patches,
    frames_to_tensor,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
    microturn_patches,
    patches_to_frame,
    quantise_log_mel,
    text_to_bytes,
)
from nbduplex.microturn import CHUNK_SAMPLES, float_to_int16, resample

SR = 16_000


# --------------------------------------------------------------------------- test signals

_ESPEAK_SCRIPT = textwrap.dedent(
    """
    import ctypes, sys, numpy as np, espeakng_loader
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                          ctypes.c_void_p)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)
    out = []
    @CB
    def cb(wav, n, events):
        if wav and n > 0:
            out.append(np.ctypeslib.as_array(wav, (n,)).copy())
        return 0
    lib.espeak_SetSynthCallback(cb)
    lib.espeak_SetVoiceByName(b"en")
    text = sys.argv[2].encode()
    lib.espeak_Synth(text, len(text) + 1, 0, 1, 0, 0, None, None)
    lib.espeak_Synchronize()
    np.save(sys.argv[1], np.concatenate(out).astype(np.int16))
    print(rate)
    """
)
TEXT = "Hello there! Is this the quantised mel feature test? Seven apples, please."


def _to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    return float_to_int16(resample(samples.astype(np.float32) / 32768.0, rate))


@pytest.fixture(scope="module")
def espeak_speech(tmp_path_factory) -> np.ndarray:
    """Real speech from libespeak-ng (espeakng-loader), in a subprocess (its state is global)."""
    path = tmp_path_factory.mktemp("espeak") / "speech.npy"
    r = subprocess.run(
        [sys.executable, "-c", _ESPEAK_SCRIPT, str(path), TEXT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return _to_16k(np.load(path), int(r.stdout.strip()))


@pytest.fixture(scope="module")
def flite_speech(tmp_path_factory) -> np.ndarray:
    """Speech from the flite binary (8 kHz voice: band-limited after resampling to 16 kHz)."""
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    import soundfile as sf

    path = tmp_path_factory.mktemp("flite") / "speech.wav"
    subprocess.run(["flite", "-t", TEXT, "-o", str(path)], check=True, timeout=60)
    audio, rate = sf.read(path, dtype="int16")
    return _to_16k(audio, rate)


def speech_like(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Voiced segments (glottal pulse trains with a gliding pitch, formant-ish colour), noise
    bursts (fricatives) and pauses: int16 at 16 kHz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)  # Hz
    phase = np.cumsum(f0) / SR
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    kernel = np.exp(-np.arange(160) / 20.0) * np.sin(2 * np.pi * 700 * np.arange(160) / SR)
    voiced = np.convolve(pulses, kernel)[:n]
    fric = np.diff(rng.standard_normal(n + 1)) * 0.05  # high-passed noise
    seg = (np.arange(n) // 2400) % 4  # 150 ms segments: voiced, fricative, voiced, pause
    x = np.where(seg % 2 == 0, voiced, 0.0) + np.where(seg == 1, fric, 0.0)
    x = x / np.abs(x).max() * 0.6 + 1e-4 * rng.standard_normal(n)
    return float_to_int16(x)


def white_noise(seconds: float = 1.0, seed: int = 1, scale: float = 4000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal(int(seconds * SR)) * scale, -32768, 32767).astype(np.int16)


def clipped_sine(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return float_to_int16(np.clip(3.0 * np.sin(2 * np.pi * 440 * t), -1, 1))


SYNTHETIC = {
    "speech_like": lambda: speech_like(),
    "white_noise": lambda: white_noise(),
    "quiet_noise": lambda: white_noise(scale=3.0),  # around the -7 floor
    "silence": lambda: np.zeros(SR, np.int16),
    "clipped_sine": lambda: clipped_sine(),
    "full_scale_square": lambda: np.where(np.arange(SR) % 80 < 40, 32767, -32768).astype(np.int16),
}


# --------------------------------------------------------------------------- mel filterbank


@pytest.mark.parametrize(
    "kw",
    [
        dict(sr=16000, n_fft=1024, n_mels=80, fmin=80, fmax=7600),
        dict(sr=22050, n_fft=512, n_mels=40, fmin=0, fmax=None),
        dict(sr=16000, n_fft=400, n_mels=128, fmin=20, fmax=8000),
    ],
)
def test_mel_filterbank_matches_librosa(kw):
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(**kw)
    ref = librosa.filters.mel(**kw)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)


def test_mel_scale_is_slaney_and_invertible():
    librosa = pytest.importorskip("librosa")
    hz = np.array([0.0, 80.0, 500.0, 999.0, 1000.0, 1001.0, 4000.0, 7600.0])
    np.testing.assert_allclose(hz_to_mel(hz), librosa.hz_to_mel(hz), rtol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, rtol=1e-12, atol=1e-9)


def test_mel_filterbank_bad_args():
    with pytest.raises(ValueError):
        mel_filterbank(fmin=8000, fmax=100)
    with pytest.raises(ValueError):
        mel_filterbank(n_mels=0)


# --------------------------------------------------------------------------- dMel definition


def test_dmel_matches_torch_stft_definition(espeak_speech):
    """Independent oracle: torch.stft (window 800 centred in n_fft 1024) + librosa filters."""
    librosa = pytest.importorskip("librosa")
    x = espeak_speech[: 2 * SR]
    sig = torch.from_numpy(x.astype(np.float64) / 32768.0)
    # causal: frame i covers samples [(i+1)*200 - 800, (i+1)*200); torch.stft (center=False)
    # puts the 800 window at offset 112 of each 1024 frame, so shift the signal by 112.
    padded = torch.cat([torch.zeros(600 + 112, dtype=torch.float64), sig, torch.zeros(112)])
    window = torch.hann_window(800, dtype=torch.float64)
    spec = torch.stft(padded, 1024, 200, 800, window, center=False, return_complex=True)
    mel = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=80, fmin=80, fmax=7600).astype(float)
    ref = np.clip(np.log10(np.maximum(mel @ spec.abs().numpy(), 1e-7)), -7, 2).T
    ours = dmel_log_mel_numpy(x)
    assert ours.shape == (len(x) // 200, 80)
    np.testing.assert_allclose(ours, ref[: ours.shape[0]], atol=2e-5)  # float32 filters
    assert ours.min() < -3 and ours.max() > -1  # real dynamics, not a constant


def test_frame_count_and_micro_turn_shape():
    for n in (0, 1, 199, 200, 201, 3199, 3200, 3201, 16_000):
        x = white_noise()[:n] if n <= SR else np.zeros(n, np.int16)
        assert dmel_codes_numpy(x).shape == (n // 200, 80)
        assert dmel_codes(x).shape == (n // 200, 80)
    codes = dmel_codes(np.zeros(CHUNK_SAMPLES, np.int16))
    assert codes.shape == (16, 80) and codes.dtype == np.uint8


def test_silence_and_full_scale_hit_the_range_ends():
    assert (dmel_codes(np.zeros(3200, np.int16)) == 0).all()
    loud = dmel_codes(SYNTHETIC["full_scale_square"]())
    # with x / 32768 scaling and Slaney-normalised filters, full-scale audio peaks near
    # log10 = 1 (code 13): the top of the [-7, 2] range needs floats beyond full scale
    assert 12 <= loud.max() <= 13
    huge_audio = SYNTHETIC["full_scale_square"]().astype(np.float64) / 32768.0 * 100
    huge = dmel_codes(huge_audio)
    assert huge.max() == 15
    np.testing.assert_array_equal(huge, dmel_codes_numpy(huge_audio))


# --------------------------------------------------------------------------- numpy == torch


def _assert_same_codes(x):
    ref = dmel_codes_numpy(x)
    fast = dmel_codes(x)
    assert fast.dtype == np.uint8 and fast.shape == ref.shape
    np.testing.assert_array_equal(fast, ref)
    assert len(np.unique(ref)) >= 1
    return ref


def test_numpy_and_torch_identical_on_espeak_speech(espeak_speech):
    ref = _assert_same_codes(espeak_speech)
    assert len(np.unique(ref)) >= 8  # speech spans many levels


def test_numpy_and_torch_identical_on_flite_speech(flite_speech):
    _assert_same_codes(flite_speech)


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_numpy_and_torch_identical_on_synthetic(name):
    _assert_same_codes(SYNTHETIC[name]())


def test_torch_batch_int16_and_float_inputs_agree():
    xs = np.stack([speech_like(1.0, seed=s) for s in range(3)])  # (3, n) int16
    batched = dmel_codes_torch(torch.from_numpy(xs))  # (3, T, 80)
    assert batched.dtype == torch.long and batched.shape == (3, SR // 200, 80)
    for i in range(3):
        np.testing.assert_array_equal(batched[i].numpy(), dmel_codes_numpy(xs[i]))
    as_float = torch.from_numpy(xs.astype(np.float64) / 32768.0)
    np.testing.assert_array_equal(dmel_codes_torch(as_float).numpy(), batched.numpy())
    np.testing.assert_array_equal(dmel_codes(xs), batched.numpy())


def test_float32_fast_mode_is_close_and_log_mel_agrees():
    x = speech_like(1.0, seed=5)
    exact = dmel_codes_torch(x).numpy()
    fast = dmel_codes_torch(x, exact=False).numpy()
    assert np.abs(fast - exact).max() <= 1 and (fast != exact).mean() < 1e-3
    lm = dmel_log_mel_torch(x, dtype=torch.float64).numpy()
    np.testing.assert_allclose(lm, dmel_log_mel_numpy(x), atol=1e-9)


def test_torch_history_continues_a_stream():
    x = speech_like(1.0, seed=2)
    full = dmel_codes_numpy(x)
    cut = 6400
    tail = dmel_codes_torch(x[cut:], history=x[cut - 600 : cut]).numpy()
    np.testing.assert_array_equal(tail, full[cut // 200 :])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_numpy():
    x = speech_like(2.0, seed=3)
    codes = dmel_codes_torch(torch.from_numpy(x).cuda())
    assert codes.is_cuda
    np.testing.assert_array_equal(codes.cpu().numpy(), dmel_codes_numpy(x))


# --------------------------------------------------------------------------- causality, streaming


def test_causal_future_does_not_change_past_frames():
    x = speech_like(1.0, seed=4)
    y = x.copy()
    y[4000:] = white_noise(1.0, seed=9)[: len(y) - 4000]
    a, b = dmel_codes_numpy(x), dmel_codes_numpy(y)
    np.testing.assert_array_equal(a[: 4000 // 200], b[: 4000 // 200])
    assert (a[4000 // 200 :] != b[4000 // 200 :]).any()


def test_streaming_micro_turns_equal_offline(espeak_speech):
    x = espeak_speech[: (len(espeak_speech) // CHUNK_SAMPLES) * CHUNK_SAMPLES]
    s = StreamingDMel()
    parts = [s.push(x[i : i + CHUNK_SAMPLES]) for i in range(0, len(x), CHUNK_SAMPLES)]
    assert all(p.shape == (16, 80) and p.dtype == np.uint8 for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts), dmel_codes_numpy(x))
    np.testing.assert_array_equal(np.concatenate(parts), dmel_codes(x))
    assert s.n_frames == len(x) // 200 and s.n_samples == len(x)


def test_streaming_reset_starts_a_new_stream():
    a, b = speech_like(0.4, seed=6), speech_like(0.4, seed=7)
    s = StreamingDMel()
    s.push(a)
    s.push(a[:123])
    s.reset()
    np.testing.assert_array_equal(s.push(b), dmel_codes_numpy(b))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(0, 4000), min_size=1, max_size=8),
    kind=st.sampled_from(["noise", "speech", "mixed"]),
)
def test_streaming_any_chunking_equals_offline(seed, cuts, kind):
    rng = np.random.default_rng(seed)
    n = int(sum(cuts))
    if kind == "noise":
        x = (rng.standard_normal(n) * rng.uniform(1, 20000)).clip(-32768, 32767).astype(np.int16)
    elif kind == "speech":
        x = speech_like(max(n, 1) / SR + 0.01, seed=seed % 1000)[:n]
    else:
        x = rng.integers(-32768, 32768, n).astype(np.int16) * (rng.random(n) < 0.3)
        x = x.astype(np.int16)
    s = StreamingDMel()
    parts, start = [], 0
    for c in cuts:
        parts.append(s.push(x[start : start + c]))
        start += c
    out = np.concatenate(parts) if parts else np.zeros((0, 80), np.uint8)
    np.testing.assert_array_equal(out, dmel_codes_numpy(x))


# --------------------------------------------------------------------------- quantiser


def test_quantiser_centres_and_edges():
    cfg = DEFAULT_CONFIG
    centres = -7 + 0.6 * np.arange(16)
    np.testing.assert_array_equal(quantise_log_mel(centres), np.arange(16))
    np.testing.assert_allclose(dmel_levels(np.arange(16, dtype=np.uint8)), centres, atol=1e-6)
    np.testing.assert_array_equal(quantise_log_mel(dmel_levels(np.arange(16))), np.arange(16))
    assert quantise_log_mel(np.array([-100.0, -7.0, 2.0, 100.0])).tolist() == [0, 0, 15, 15]
    mids = centres[:-1] + 0.3
    np.testing.assert_array_equal(quantise_log_mel(mids - 1e-9), np.arange(15))
    np.testing.assert_array_equal(quantise_log_mel(mids + 1e-9), np.arange(1, 16))
    assert cfg.step == pytest.approx(0.6) and cfg.history == 600
    lv = dmel_levels(torch.arange(16))
    assert isinstance(lv, torch.Tensor) and torch.allclose(lv, torch.tensor(centres).float())


@given(st.floats(-20, 20, allow_nan=False))
def test_quantiser_picks_nearest_centre(v):
    code = int(quantise_log_mel(np.array([v]))[0])
    centres = -7 + 0.6 * np.arange(16)
    dist = np.abs(np.clip(v, -7, 2) - centres)
    assert dist[code] <= dist.min() + 1e-12


def test_config_validation():
    with pytest.raises(ValueError):
        DMelConfig(hop=900)
    with pytest.raises(ValueError):
        DMelConfig(n_levels=1)


# --------------------------------------------------------------------------- bad input


def test_nonfinite_samples_count_as_zero():
    x = speech_like(0.5, seed=8).astype(np.float32) / 32768.0
    bad = x.copy()
    bad[[10, 500, 4000]] = [np.nan, np.inf, -np.inf]
    fixed = x.copy()
    fixed[[10, 500, 4000]] = 0.0
    ref = dmel_codes_numpy(fixed)
    np.testing.assert_array_equal(dmel_codes_numpy(bad), ref)
    np.testing.assert_array_equal(dmel_codes(bad), ref)
    np.testing.assert_array_equal(StreamingDMel().push(bad), ref)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(3200, np.int32),
        np.zeros(3200, np.uint8),
        np.zeros(3200, bool),
        np.zeros(3200, complex),
        np.array(["a", "b"]),
    ],
)
def test_wrong_dtype_is_a_clear_type_error(bad):
    for fn in (dmel_codes_numpy, dmel_codes, dmel_codes_torch, StreamingDMel().push):
        with pytest.raises(TypeError, match="int16 or floating"):
            fn(bad)


def test_wrong_shape_errors():
    with pytest.raises(ValueError):
        dmel_codes_numpy(np.zeros((2, 3200), np.int16))
    with pytest.raises(ValueError):
        StreamingDMel().push(np.zeros((3200, 2), np.int16))
    with pytest.raises(ValueError):
        dmel_codes_torch(torch.zeros(1, 2, 3200))
    with pytest.raises(TypeError):
        dmel_codes_torch([0, 1, 2])


def test_empty_input():
    assert dmel_codes_numpy(np.zeros(0, np.int16)).shape == (0, 80)
    assert dmel_codes(np.zeros(0, np.float32)).shape == (0, 80)
    assert dmel_codes_torch(torch.zeros(2, 0)).shape == (2, 0, 80)
    assert StreamingDMel().push(np.zeros(0, np.int16)).shape == (0, 80)


# --------------------------------------------------------------------------- patches


def _quadrants(h=48, w=80) -> np.ndarray:
    f = np.zeros((h, w, 3), np.uint8)
    f[: h // 2, : w // 2] = (255, 0, 0)
    f[: h // 2, w // 2 :] = (0, 255, 0)
    f[h // 2 :, : w // 2] = (0, 0, 255)
    f[h // 2 :, w // 2 :] = (255, 255, 255)
    return f


def test_patches_shape_range_and_order():
    p = frame_to_patches(_quadrants())
    assert p.shape == (16, 16 * 16 * 3) and p.dtype == np.float32
    assert p.min() >= 0.0 and p.max() <= 1.0
    grid = p.reshape(4, 4, 16, 16, 3)  # row-major grid of (patch, patch, 3)
    np.testing.assert_allclose(grid[0, 0], np.broadcast_to([1, 0, 0], (16, 16, 3)), atol=1e-6)
    np.testing.assert_allclose(grid[0, 3], np.broadcast_to([0, 1, 0], (16, 16, 3)), atol=1e-6)
    np.testing.assert_allclose(grid[3, 0], np.broadcast_to([0, 0, 1], (16, 16, 3)), atol=1e-6)
    np.testing.assert_allclose(grid[3, 3], 1.0, atol=1e-6)
    assert frame_to_patches(_quadrants(), size=32, patch=8).shape == (16, 8 * 8 * 3)


def test_patches_roundtrip_and_formats():
    f = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    np.testing.assert_array_equal(patches_to_frame(frame_to_patches(f)), downscale(f))
    grey = f[:, :, 0]
    np.testing.assert_array_equal(frame_to_patches(grey), frame_to_patches(np.dstack([grey] * 3)))
    rgba = np.dstack([f, np.zeros_like(grey)])
    np.testing.assert_array_equal(frame_to_patches(rgba), frame_to_patches(f))


def test_patches_bad_input():
    with pytest.raises(TypeError):
        frame_to_patches(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError):
        frame_to_patches(np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(ValueError):
        frame_to_patches(np.zeros((0, 8, 3), np.uint8))
    with pytest.raises(ValueError):
        frame_to_patches(np.zeros((8, 8, 3), np.uint8), size=60, patch=16)
    with pytest.raises(ValueError):
        patches_to_frame(np.zeros((15, 768), np.float32))


def test_blank_and_batched_patches():
    assert blank_patches().shape == (16, 768) and not blank_patches().any()
    p, present = microturn_patches(())
    assert not present and not p.any()
    p, present = microturn_patches((np.zeros((4, 4, 3), np.uint8), _quadrants()))
    assert present
    np.testing.assert_array_equal(p, frame_to_patches(_quadrants()))
    t, mask = frames_to_tensor([_quadrants(), None])
    assert t.shape == (2, 16, 768) and t.dtype == torch.float32
    assert mask.tolist() == [True, False] and not t[1].any()


# --------------------------------------------------------------------------- text bytes


@given(st.text())
def test_text_bytes_roundtrip(text):
    b = text_to_bytes(text)
    assert b.dtype == np.uint8
    expected = text.encode("utf-8", errors="replace").decode("utf-8")
    assert bytes_to_text(b) == expected


@given(st.text(st.characters(blacklist_categories=("Cs",))), st.integers(0, 40))
def test_text_truncation_keeps_whole_characters(text, max_len):
    b = text_to_bytes(text, max_len).tobytes()
    full = text.encode("utf-8")
    assert len(b) <= max_len and full.startswith(b)
    decoded = b.decode("utf-8")  # strict: no split character
    assert text.startswith(decoded)
    if len(decoded) < len(text):  # maximal: the next character would not fit
        assert len(text[: len(decoded) + 1].encode("utf-8")) > max_len


def test_text_truncation_examples():
    assert text_to_bytes("héllo", 2).tobytes() == b"h"
    assert text_to_bytes("héllo", 3).tobytes() == "hé".encode()
    assert text_to_bytes("日本", 5).tobytes() == "日".encode()
    assert text_to_bytes("", 10).shape == (0,)
    assert bytes_to_text(b"\xff") == "\ufffd"


def test_text_tokens():
    ids = encode_text_tokens("hé", pad_to=7)
    assert ids.dtype == np.int64
    assert ids.tolist() == [BOS, 104, 195, 169, EOS, PAD, PAD]
    assert decode_text_tokens(ids) == "hé"
    assert bytes_to_text(ids) == "hé"  # specials dropped
    short = encode_text_tokens("héllo", max_len=4)
    assert short.tolist() == [BOS, 104, EOS] and len(short) <= 4
    assert encode_text_tokens("a", bos=False, eos=False).tolist() == [97]
    assert decode_text_tokens([104, 105, EOS, 120]) == "hi"


def test_text_bad_input():
    with pytest.raises(TypeError):
        text_to_bytes(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        text_to_bytes("abc", -1)
    with pytest.raises(ValueError):
        encode_text_tokens("abc", max_len=1)
    with pytest.raises(ValueError):
        encode_text_tokens("abc", pad_to=2)
    with pytest.raises(ValueError):
        decode_text_tokens([300])
    with pytest.raises(ValueError):
        bytes_to_text([-1])
    with pytest.raises(TypeError):
        bytes_to_text(np.array([1.5]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 24), min_size=1, max_size=6), st.integers(0, 2**31 - 1))
def test_log_mel_continued_pieces_equal_the_whole_stream(hops, seed):
    """A stream cut into pieces of whole hops: each piece's frames, computed after the piece
    before it, concatenate to the whole stream's frames."""
    from nbduplex.features.dmel import DEFAULT_CONFIG, dmel_log_mel_continued, dmel_log_mel_numpy

    hop = DEFAULT_CONFIG.hop
    rng = np.random.default_rng(seed)
    audio = (rng.standard_normal(sum(hops) * hop) * 4000).astype(np.int16)
    cuts = np.cumsum([0, *hops]) * hop
    pieces = zip(cuts[:-1], cuts[1:], strict=True)
    parts = [dmel_log_mel_continued(audio[:a], audio[a:b]) for a, b in pieces]
    assert np.array_equal(np.concatenate(parts), dmel_log_mel_numpy(audio))
