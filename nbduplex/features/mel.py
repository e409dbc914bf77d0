"""Mel filterbank in plain numpy, equal to `librosa.filters.mel` (Slaney scale, Slaney norm).

librosa is a test-only dependency, so the package builds its own filterbank: triangles whose
corners are equally spaced on the Slaney mel scale (linear below 1 kHz, logarithmic above),
each scaled by 2 / (bandwidth in Hz) so that every filter has about the same area.
`tests/test_features.py` checks this against librosa.
"""

from __future__ import annotations

import numpy as np

_F_SP = 200.0 / 3.0  # Hz per mel in the linear part of the Slaney scale
_MIN_LOG_HZ = 1000.0  # Hz where the scale turns logarithmic
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # = 15 mel
_LOG_STEP = np.log(6.4) / 27.0  # mel step size in the logarithmic part


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Frequency in Hz -> Slaney mel (linear below 1 kHz, log above)."""
    f = np.asarray(hz, dtype=np.float64)
    lin = f / _F_SP
    with np.errstate(divide="ignore", invalid="ignore"):
        log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Slaney mel -> frequency in Hz (inverse of `hz_to_mel`)."""
    m = np.asarray(mel, dtype=np.float64)
    lin = m * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOG_STEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


def mel_filterbank(
    sr: int = 16_000,
    n_fft: int = 1024,
    n_mels: int = 80,
    fmin: float = 80.0,
    fmax: float | None = 7600.0,
    dtype: np.dtype | type = np.float64,
) -> np.ndarray:
    """Slaney-normalised triangular mel filters, shape (n_mels, 1 + n_fft // 2).

    Same values as `librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin,
    fmax=fmax)` (librosa returns float32; here the default is float64).
    """
    if sr <= 0 or n_fft <= 0 or n_mels <= 0:
        raise ValueError(f"sr, n_fft and n_mels must be positive, got {sr}, {n_fft}, {n_mels}")
    fmax = sr / 2.0 if fmax is None else float(fmax)
    if not 0.0 <= fmin < fmax:
        raise ValueError(f"need 0 <= fmin < fmax, got fmin={fmin}, fmax={fmax}")
    fft_hz = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)  # (F,)
    corners = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))  # (M+2,)
    width = np.diff(corners)  # (M+1,)
    dist = corners[:, None] - fft_hz[None, :]  # (M+2, F)
    rising = -dist[:-2] / width[:-1, None]  # (M, F) up-slope of each triangle
    falling = dist[2:] / width[1:, None]  # (M, F) down-slope
    weights = np.maximum(0.0, np.minimum(rising, falling))  # (M, F)
    weights *= (2.0 / (corners[2:] - corners[:-2]))[:, None]  # Slaney area normalisation
    return weights.astype(dtype)
