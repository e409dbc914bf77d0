"""dMel: log-mel spectrogram quantised to 16 levels ("dMel: Speech Tokenization made Simple").

Recipe (DESIGN.md): 16 kHz audio (int16 scaled by 1/32768, floats taken as they are), STFT with
n_fft 1024 and an 800-sample periodic Hann window zero-padded in the centre of the FFT frame
(as `torch.stft` does when win_length < n_fft), hop 200 samples (12.5 ms, 80 frames/s), 80 Slaney
mel filters 80-7600 Hz on the *magnitude* spectrum, log10 (floored at 1e-7 so log10 >= -7),
clipped to [-7, 2], then each value mapped to the nearest of 16 centres -7 + 0.6 i (code i,
uint8 0..15).

Framing is CAUSAL so that streaming is exact: frame i uses the 800 samples that end at sample
(i + 1) * 200 (zeros before the stream start). A signal of n samples gives n // 200 frames, a
200 ms micro-turn (3200 samples) gives exactly 16 frames, and no frame looks into the future.
`StreamingDMel` keeps the last 600 samples between pushes, so pushing micro-turns one by one
gives exactly the codes of one offline pass.

Two implementations that give identical codes (both compute in float64):
- `dmel_codes_numpy`: the readable reference;
- `dmel_codes_torch`: batched, runs on CUDA when given a CUDA tensor or device.
Non-finite samples (NaN, +-inf) are treated as 0; the sources flag them before they get here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from nbduplex.features.mel import mel_filterbank


@dataclass(frozen=True)
class DMelConfig:
    """dMel parameters (defaults are the nbduplex / dMel paper settings)."""

    sample_rate: int = 16_000  # Hz
    n_fft: int = 1024  # samples per FFT frame
    win_length: int = 800  # samples, periodic Hann, centred inside the n_fft frame
    hop: int = 200  # samples between frames (12.5 ms, 80 frames/s)
    n_mels: int = 80  # mel bins
    fmin: float = 80.0  # Hz, lowest mel filter edge
    fmax: float = 7600.0  # Hz, highest mel filter edge
    log_min: float = -7.0  # log10 floor and lower clip (centre of code 0)
    log_max: float = 2.0  # upper clip (centre of the last code)
    n_levels: int = 16  # quantisation levels (codes 0 .. n_levels - 1)

    def __post_init__(self) -> None:
        if not 0 < self.hop <= self.win_length <= self.n_fft:
            raise ValueError("need 0 < hop <= win_length <= n_fft")
        if not 2 <= self.n_levels <= 256 or not self.log_min < self.log_max:
            raise ValueError("need 2 <= n_levels <= 256 and log_min < log_max")

    @property
    def history(self) -> int:
        """Samples of the past each new hop needs (win_length - hop = 600)."""
        return self.win_length - self.hop

    @property
    def step(self) -> float:
        """Distance between quantisation centres in log10 units (0.6)."""
        return (self.log_max - self.log_min) / (self.n_levels - 1)

    @property
    def pad_left(self) -> int:
        """Zeros before the window inside the FFT frame ((1024 - 800) // 2 = 112)."""
        return (self.n_fft - self.win_length) // 2


DEFAULT_CONFIG = DMelConfig()


@lru_cache(maxsize=8)
def _window(cfg: DMelConfig) -> np.ndarray:
    """Periodic Hann window of win_length, placed centred in an n_fft frame. (n_fft,)"""
    n = np.arange(cfg.win_length)
    w = np.zeros(cfg.n_fft)
    w[cfg.pad_left : cfg.pad_left + cfg.win_length] = 0.5 - 0.5 * np.cos(
        2.0 * np.pi * n / cfg.win_length
    )
    return w


@lru_cache(maxsize=8)
def _mel_t(cfg: DMelConfig) -> np.ndarray:
    """Mel filterbank transposed for right-multiplication. (F, M) float64"""
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    return np.ascontiguousarray(fb.T)


def _as_float_audio(audio: np.ndarray, ndim: tuple[int, ...] = (1,)) -> np.ndarray:
    """int16 or float audio -> float64 in full scale units, non-finite values replaced by 0."""
    a = np.asarray(audio)
    if a.dtype != np.int16 and a.dtype.kind != "f":
        raise TypeError(f"audio must be int16 or floating point, got dtype {a.dtype}")
    if a.ndim not in ndim:
        raise ValueError(f"audio must have {' or '.join(map(str, ndim))} dims, got {a.shape}")
    if a.dtype == np.int16:
        return a.astype(np.float64) / 32768.0
    return np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def quantise_log_mel(log_mel: np.ndarray, config: DMelConfig = DEFAULT_CONFIG) -> np.ndarray:
    """log10 mel values -> nearest-centre codes (uint8 0 .. n_levels - 1); clips out-of-range."""
    x = np.clip(np.asarray(log_mel, dtype=np.float64), config.log_min, config.log_max)
    codes = np.rint((x - config.log_min) / config.step)
    return np.clip(codes, 0, config.n_levels - 1).astype(np.uint8)


def dmel_levels(codes: np.ndarray | torch.Tensor, config: DMelConfig = DEFAULT_CONFIG):
    """Codes -> the log10 value of their centres (-7 + 0.6 i), float32, same type as the input."""
    if isinstance(codes, torch.Tensor):
        return config.log_min + config.step * codes.to(torch.float32)
    return (config.log_min + config.step * np.asarray(codes, dtype=np.float64)).astype(np.float32)


def _log_mel_windows_numpy(windows: np.ndarray, cfg: DMelConfig) -> np.ndarray:
    """Unwindowed 800-sample frames (R, win) float64 -> clipped log10 mel (R, M) float64."""
    frames = np.zeros((windows.shape[0], cfg.n_fft))  # (R, n_fft): window centred, zeros around
    frames[:, cfg.pad_left : cfg.pad_left + cfg.win_length] = windows
    frames *= _window(cfg)
    mag = np.abs(np.fft.rfft(frames, axis=-1))  # (R, F)
    # einsum without BLAS: for a micro-turn's 16 frames a multithreaded BLAS call is 5-100x
    # slower than this loop when the other cores are busy (measured here: 0.3 ms vs 1.5-37 ms)
    mel = np.einsum("rf,fm->rm", mag, _mel_t(cfg), optimize=False)  # (R, M)
    return np.clip(np.log10(np.maximum(mel, 10.0**cfg.log_min)), cfg.log_min, cfg.log_max)


def _log_mel_padded_numpy(padded: np.ndarray, cfg: DMelConfig) -> np.ndarray:
    """Clipped log10 mel of a signal that already carries its `history` samples in front.

    padded: (history + k * hop + r,) float64 -> (k, n_mels) float64.
    """
    k = (padded.size - cfg.history) // cfg.hop
    if k <= 0:
        return np.zeros((0, cfg.n_mels))
    windows = np.lib.stride_tricks.sliding_window_view(padded, cfg.win_length)[:: cfg.hop][:k]
    return _log_mel_windows_numpy(windows, cfg)  # (k, M)


def dmel_log_mel_numpy(audio: np.ndarray, config: DMelConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Clipped log10 magnitude mel before quantisation: (n,) audio -> (n // hop, n_mels) float64."""
    x = _as_float_audio(audio)
    padded = np.concatenate([np.zeros(config.history), x])
    return _log_mel_padded_numpy(padded, config)


def dmel_log_mel_continued(
    before: np.ndarray, audio: np.ndarray, config: DMelConfig = DEFAULT_CONFIG
) -> np.ndarray:
    """The frames `dmel_log_mel_numpy` gives for `audio` when it follows `before` in one stream
    (only `before`'s last `history` samples matter; zeros when it is shorter): for a stream cut
    into pieces of whole hops, the pieces' frames concatenated equal the whole stream's."""
    past = _as_float_audio(before)[-config.history :] if config.history else np.zeros(0)
    past = np.concatenate([np.zeros(config.history - past.size), past])
    return _log_mel_padded_numpy(np.concatenate([past, _as_float_audio(audio)]), config)


def dmel_codes_numpy(audio: np.ndarray, config: DMelConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Reference dMel: (n,) int16 or float audio -> (n // hop, n_mels) uint8 codes."""
    return quantise_log_mel(dmel_log_mel_numpy(audio, config), config)


# --------------------------------------------------------------------------- torch fast path
#
# The fast path computes in float32 and then makes its codes exact: for every value it bounds
# the float32 error and recomputes in float64 every frame with a value whose error interval
# crosses a quantisation boundary (on the CPU with the numpy reference itself). The FFT
# rounding error of one bin has an rms of about u * sqrt(log2 N) * ||x||_2 (u = 2^-24, errors
# spread evenly over the bins); the bound is 8 u log2(N) ||x||_2, over 25 times that rms.
# (The strict worst case, all the error in one bin, is sqrt(N) = 32 times larger still and
# would send most frames of band-limited audio to the slow path.) The mel sum of positive
# terms and the log add a small relative error (larger under TF32 matmuls on CUDA).

_U32 = 2.0**-24  # float32 unit roundoff
_U_TF32 = 2.0**-11  # TF32 matmul on CUDA rounds inputs to a 10-bit mantissa
_TORCH_CONSTS: dict[tuple, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}


def _torch_consts(cfg: DMelConfig, device: torch.device, dtype: torch.dtype):
    """(window (win,), mel_t (F, M), row sums of the filters (M,)) on device, cached."""
    key = (cfg, str(device), dtype)
    if key not in _TORCH_CONSTS:
        win = torch.from_numpy(_window(cfg)[cfg.pad_left : cfg.pad_left + cfg.win_length])
        mel_t = torch.from_numpy(_mel_t(cfg))
        consts = (win, mel_t, mel_t.sum(0))
        _TORCH_CONSTS[key] = tuple(c.to(device, dtype) for c in consts)
    return _TORCH_CONSTS[key]


def _as_tensor(audio, device, dtype: torch.dtype) -> torch.Tensor:
    """int16 / float array or tensor -> float tensor on `device`, non-finite values set to 0."""
    if isinstance(audio, np.ndarray):
        if audio.dtype != np.int16 and audio.dtype.kind != "f":
            raise TypeError(f"audio must be int16 or floating point, got dtype {audio.dtype}")
        audio = torch.from_numpy(np.ascontiguousarray(audio))
    if not isinstance(audio, torch.Tensor):
        raise TypeError(f"audio must be a numpy array or torch tensor, got {type(audio)}")
    if audio.dtype == torch.int16:
        return audio.to(device=device, dtype=dtype) / 32768.0
    if not audio.is_floating_point():
        raise TypeError(f"audio must be int16 or floating point, got dtype {audio.dtype}")
    return torch.nan_to_num(audio.to(device=device, dtype=dtype), nan=0.0, posinf=0.0, neginf=0.0)


def _padded_torch(audio, cfg: DMelConfig, history, device, dtype):
    """-> (signal with its history in front (B, history + k * hop), k, input was 1-D)."""
    x = _as_tensor(audio, device, dtype)
    squeeze = x.dim() == 1
    x = x[None] if squeeze else x
    if x.dim() != 2:
        raise ValueError(f"audio must be (n,) or (B, n), got shape {tuple(x.shape)}")
    if history is None:
        pad = x.new_zeros(x.shape[0], cfg.history)
    else:
        pad = _as_tensor(history, device, dtype).reshape(-1, cfg.history).expand(x.shape[0], -1)
    k = x.shape[1] // cfg.hop
    return torch.cat([pad, x[:, : k * cfg.hop]], dim=1), k, squeeze


def _mel_frames_torch(frames: torch.Tensor, cfg: DMelConfig):
    """Unwindowed frames (..., win) -> (windowed frames, magnitude mel (..., M), clipped log10)."""
    win, mel_t, _ = _torch_consts(cfg, frames.device, frames.dtype)
    xw = frames * win  # (..., win)
    # |rfft| does not depend on where the zero padding sits (a shift only changes the phase)
    mag = torch.fft.rfft(xw, n=cfg.n_fft, dim=-1).abs()  # (..., F)
    mel = mag @ mel_t  # (..., M)
    return xw, mel, torch.log10(mel.clamp_min(10.0**cfg.log_min)).clamp(cfg.log_min, cfg.log_max)


def _device_of(audio, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    return audio.device if isinstance(audio, torch.Tensor) else torch.device("cpu")


def dmel_log_mel_torch(
    audio,
    config: DMelConfig = DEFAULT_CONFIG,
    *,
    history=None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Clipped log10 mel, batched: (B, n) or (n,) -> (B, n // hop, M) or (n // hop, M).

    `history` ((B, 600) or (600,)) replaces the zeros before the stream start.
    """
    device = _device_of(audio, device)
    padded, k, squeeze = _padded_torch(audio, config, history, device, dtype)
    if k == 0:  # shorter than one hop (an empty FFT batch fails in some backends)
        out = padded.new_zeros(padded.shape[0], 0, config.n_mels)
    else:
        frames = padded.unfold(1, config.win_length, config.hop)  # (B, T, win) view
        out = _mel_frames_torch(frames, config)[2]
    return out[0] if squeeze else out


def quantise_log_mel_torch(log_mel: torch.Tensor, config: DMelConfig = DEFAULT_CONFIG):
    """Torch twin of `quantise_log_mel`: -> int64 codes 0 .. n_levels - 1."""
    x = log_mel.clamp(config.log_min, config.log_max)
    return torch.round((x - config.log_min) / config.step).clamp(0, config.n_levels - 1).long()


def _uncertain(xw: torch.Tensor, mel: torch.Tensor, cfg: DMelConfig) -> torch.Tensor:
    """(B, T) bool: frames with a float32 value that might round to another code."""
    _, _, row_sum = _torch_consts(cfg, mel.device, mel.dtype)
    bin_err = 8.0 * _U32 * float(np.log2(cfg.n_fft))  # per bin, x ||xw||_2
    bin_err = bin_err * xw.square().sum(-1, keepdim=True).sqrt()  # (B, T, 1)
    tf32 = mel.is_cuda and torch.get_float32_matmul_precision() != "highest"
    rel = 4.0 * _U_TF32 if tf32 else 256.0 * _U32  # mel sum + abs, relative
    bound = row_sum * bin_err + rel * mel  # (B, T, M)
    margin = 1e-5  # log10 units, for the float32 log itself
    lo = quantise_log_mel_torch(torch.log10((mel - bound).clamp_min(1e-30)) - margin, cfg)
    hi = quantise_log_mel_torch(torch.log10(mel + bound) + margin, cfg)
    return (lo != hi).any(-1)


def dmel_codes_torch(
    audio,
    config: DMelConfig = DEFAULT_CONFIG,
    *,
    history=None,
    device: torch.device | str | None = None,
    exact: bool = True,
) -> torch.Tensor:
    """Fast dMel: (B, n) or (n,) int16/float tensor or array -> LongTensor (B, T, M) or (T, M).

    Runs on the tensor's device (or `device`), T = n // hop. With `exact` (default) the codes
    equal `dmel_codes_numpy`: float32 everywhere, float64 only for the frames near a
    quantisation boundary; `exact=False` is pure float32 (a value on a boundary may move by one).
    """
    cfg = config
    device = _device_of(audio, device)
    padded, k, squeeze = _padded_torch(audio, cfg, history, device, torch.float32)
    if k == 0:  # shorter than one hop (an empty FFT batch fails in some backends)
        codes = torch.zeros(padded.shape[0], 0, cfg.n_mels, dtype=torch.long, device=device)
        return codes[0] if squeeze else codes
    frames = padded.unfold(1, cfg.win_length, cfg.hop)  # (B, T, win) view
    xw, mel, log_mel = _mel_frames_torch(frames, cfg)
    codes = quantise_log_mel_torch(log_mel, cfg)  # (B, T, M)
    if exact:
        redo = _uncertain(xw, mel, cfg).nonzero(as_tuple=True)  # ((R,), (R,))
        if redo[0].numel():
            padded64 = _padded_torch(audio, cfg, history, device, torch.float64)[0]
            frames64 = padded64.unfold(1, cfg.win_length, cfg.hop)[redo]  # (R, win)
            if frames64.device.type == "cpu":  # numpy float64 is faster than torch's here
                fixed = quantise_log_mel(_log_mel_windows_numpy(frames64.numpy(), cfg), cfg)
                codes[redo] = torch.from_numpy(fixed).long()
            else:
                codes[redo] = quantise_log_mel_torch(_mel_frames_torch(frames64, cfg)[2], cfg)
    return codes[0] if squeeze else codes


def dmel_codes(audio: np.ndarray, config: DMelConfig = DEFAULT_CONFIG) -> np.ndarray:
    """dMel codes, numpy in and out: (n,) or (B, n) int16/float -> (.., n // hop, 80) uint8."""
    a = np.asarray(audio)
    _as_tensor(a[:0], "cpu", torch.float64)  # dtype check with a clear error
    if a.ndim not in (1, 2):
        raise ValueError(f"audio must be (n,) or (B, n), got shape {a.shape}")
    return dmel_codes_torch(a, config).numpy().astype(np.uint8)


# --------------------------------------------------------------------------- streaming


class StreamingDMel:
    """Exact streaming dMel: push audio chunks, get the frames they complete.

    Uses the numpy reference (thousands of micro-turns per second on one core; for batches of
    whole signals use `dmel_codes_torch`).

    Keeps the last `history` (600) samples and any samples short of a whole hop, so that the
    concatenation of every `push` result equals `dmel_codes_numpy` of the whole stream, for any
    chunk lengths. A 3200-sample micro-turn (with nothing pending) returns (16, 80) codes.
    """

    def __init__(self, config: DMelConfig = DEFAULT_CONFIG) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget the past: the next push starts a new stream (zeros before it)."""
        self._tail = np.zeros(self.config.history)  # (history,) float64, last samples seen
        self._pending = np.zeros(0)  # (< hop,) samples not yet forming a whole hop
        self.n_frames = 0  # frames emitted since the last reset
        self.n_samples = 0  # samples pushed since the last reset

    def push(self, chunk: np.ndarray) -> np.ndarray:
        """(n,) int16/float samples -> (k, n_mels) uint8 codes of the k frames now complete."""
        x = _as_float_audio(chunk)
        cfg = self.config
        buf = np.concatenate([self._tail, self._pending, x])
        k = (buf.size - cfg.history) // cfg.hop
        used = cfg.history + k * cfg.hop
        codes = quantise_log_mel(_log_mel_padded_numpy(buf[:used], cfg), cfg)
        self._tail = buf[used - cfg.history : used].copy()
        self._pending = buf[used:].copy()
        self.n_frames += k
        self.n_samples += x.size
        return codes
