"""Audio files (wav, flac, ogg, anything libsndfile reads) as 16 kHz mono micro-turns.

The whole file is read once, mixed down (or one channel picked), cleaned (NaN/inf -> 0,
floats beyond [-1, 1] clipped), resampled once with soxr and cut into 3200-sample chunks, so
chunk edges carry no resampling artefacts. Flags say what was fixed and where: `resampled` and
`downmixed` on every chunk, `nonfinite` and `clipped` on the chunks that held such samples,
`padded` on the last, short chunk.

Every failure (missing, empty, truncated, corrupt or unsupported file, a file without samples)
is a `SourceError` with one line that names the file, never a raw libsndfile traceback.
"""

from __future__ import annotations

import math
import os
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nbduplex.microturn import (
    CHUNK_SAMPLES,
    MICROTURN_S,
    SAMPLE_RATE,
    Flag,
    MicroTurn,
    _int_scale,
    conform_audio,
    float_to_int16,
    resample,
    to_mono_float,
)
from nbduplex.sources.base import SourceError


@dataclass(frozen=True)
class AudioData:
    """A whole audio file converted to the nbduplex format."""

    path: str
    samples: np.ndarray  # (n,) int16 mono 16 kHz
    source_rate: int  # Hz, the file's own rate
    channels: int  # the file's channel count
    flags: frozenset[str] = frozenset()  # flags of every chunk (resampled, downmixed)
    chunk_flags: dict[int, frozenset[str]] = field(default_factory=dict)  # chunk -> extra flags

    @property
    def duration(self) -> float:
        """Length in seconds (at 16 kHz)."""
        return len(self.samples) / SAMPLE_RATE

    @property
    def n_chunks(self) -> int:
        """Number of micro-turns: ceil(samples / 3200)."""
        return -(-len(self.samples) // CHUNK_SAMPLES)

    def flags_of(self, seq: int) -> frozenset[str]:
        """Flags that chunk `seq` carries because of the file as a whole or its own samples."""
        return self.flags | self.chunk_flags.get(seq, frozenset())


def read_audio(
    path: str | os.PathLike, *, channel: int | None = None, allow_truncated: bool = False
) -> AudioData:
    """Read and convert a whole audio file; raise `SourceError` with a clear line on any failure.

    `channel` picks one channel (0-based, negative counts from the end) instead of the mixdown.
    A WAV whose data chunk or an Ogg whose last page is cut short is an error unless
    `allow_truncated`, in which case what is there is read.
    """
    import soundfile as sf

    p = Path(path)
    name = str(path)
    if not p.exists():
        raise SourceError(f"audio file not found: {name}")
    if p.is_dir():
        raise SourceError(f"audio path is a directory, not a file: {name}")
    size = p.stat().st_size
    if size == 0:
        raise SourceError(f"audio file is empty (0 bytes): {name}")
    try:
        info = sf.info(name)
    except Exception as e:  # libsndfile raises its own types; any of them means unreadable
        why = _one_line(e).split(f"'{name}': ", 1)[-1].rstrip(".")  # drop libsndfile's prefix
        raise SourceError(
            f"cannot read audio file {name}: {why} (not an audio file, or corrupt or truncated)"
        ) from None
    if not allow_truncated:
        missing = _truncation(p, info.format)
        if missing:
            raise SourceError(f"audio file is truncated ({missing}): {name}")
    try:
        dtype = "int16" if info.subtype == "PCM_16" else "float32"  # int16 stays bit-exact
        data, rate = sf.read(name, dtype=dtype, always_2d=True)  # (n, channels)
    except Exception as e:
        raise SourceError(f"audio file is corrupt or truncated: {name}: {_one_line(e)}") from None
    if not allow_truncated and info.frames > 0 and data.shape[0] < info.frames:
        raise SourceError(
            f"audio file is truncated ({data.shape[0]} of {info.frames} frames readable): {name}"
        )
    if data.shape[0] == 0:
        raise SourceError(f"audio file has no samples (zero-length audio): {name}")
    if rate <= 0:
        raise SourceError(f"audio file has an invalid sample rate {rate}: {name}")
    channels = data.shape[1]
    if channel is not None:
        if not -channels <= channel < channels:
            raise SourceError(f"channel {channel} out of range: {name} has {channels} channel(s)")
        data = data[:, [channel]]  # (n, 1)
    return _convert(data, int(rate), name, channels)


def _convert(data: np.ndarray, rate: int, name: str, channels: int) -> AudioData:
    """(n, c) int or float at `rate` -> AudioData, flagging bad samples on their chunks.

    16 kHz mono int16 passes through bit-exact; ints are scaled to [-1, 1) like `to_mono_float`.
    """
    if data.dtype == np.int16 and data.shape[1] == 1 and rate == SAMPLE_RATE:
        return AudioData(name, np.ascontiguousarray(data[:, 0]), rate, channels)
    if data.dtype.kind in "iu":
        data = (data.astype(np.float64) / _int_scale(data.dtype)).astype(np.float32)
    chunk_flags: dict[int, set[str]] = {}
    bad = ~np.isfinite(data).all(axis=1)  # (n,)
    clean = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)  # (n, c)
    big = np.abs(clean.mean(axis=1)) > 1.0  # (n,) beyond full scale after the mixdown
    for flag, mask in ((Flag.NONFINITE, bad), (Flag.CLIPPED, big)):
        idx = np.flatnonzero(mask)
        if idx.size:
            for seq in np.unique(idx * SAMPLE_RATE // (rate * CHUNK_SAMPLES)).tolist():
                chunk_flags.setdefault(int(seq), set()).add(flag)
    mono, mono_flags = to_mono_float(data)  # (n,) float32, cleaned
    flags = mono_flags & {Flag.DOWNMIXED}
    if rate != SAMPLE_RATE:
        flags.add(Flag.RESAMPLED)
        mono = resample(mono, rate)  # once for the whole file: no chunk-edge artefacts
    samples = float_to_int16(mono)
    n_chunks = -(-len(samples) // CHUNK_SAMPLES)
    extra = {k: frozenset(v) for k, v in chunk_flags.items() if k < n_chunks}
    for k, v in chunk_flags.items():  # rounding may point one past the end: give it to the last
        if k >= n_chunks:
            extra[n_chunks - 1] = extra.get(n_chunks - 1, frozenset()) | frozenset(v)
    return AudioData(name, samples, rate, channels, frozenset(flags), extra)


def _one_line(e: BaseException) -> str:
    """An exception as one short line, without errno numbers or a repeated file name."""
    text = " ".join(str(e).split())
    text = re.sub(r"^\[Errno -?\d+\] |^Error : |: '[^']*'$", "", text)
    return text.strip() or type(e).__name__


def _truncation(p: Path, fmt: str) -> str:
    """A short description of how the file is cut short, or '' when it looks complete."""
    try:
        with open(p, "rb") as f:
            if fmt in ("WAV", "WAVEX"):
                return _wav_truncation(f, p.stat().st_size)
            if fmt == "OGG":
                return _ogg_truncation(f, p.stat().st_size)
    except OSError as e:
        return f"unreadable: {_one_line(e)}"
    return ""


def _wav_truncation(f, size: int) -> str:
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return ""  # RF64 and friends: leave it to libsndfile
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        cid, csize = struct.unpack("<4sI", f.read(8))
        if cid == b"data":
            if csize in (0, 0xFFFFFFFF):  # size unknown (streamed recording): not an error
                return ""
            have = size - pos - 8
            return f"data chunk declares {csize} bytes, {have} present" if have < csize else ""
        pos += 8 + csize + (csize & 1)
    return ""


def _ogg_truncation(f, size: int) -> str:
    """A complete Ogg file ends with a whole page (ending exactly at EOF) that has the
    end-of-stream flag. Candidates are searched backwards, so an 'OggS' inside packet data
    cannot fool the check (it would also have to describe a page that ends exactly at EOF)."""
    tail_start = max(0, size - 65536 - 282)  # a page is at most 27 + 255 + 255 * 255 bytes
    f.seek(tail_start)
    tail = f.read()
    pos = len(tail)
    while (pos := tail.rfind(b"OggS", 0, pos)) >= 0:
        if pos + 27 > len(tail) or tail[pos + 4] != 0:  # version 0 only
            continue
        n_segments = tail[pos + 26]
        table = tail[pos + 27 : pos + 27 + n_segments]
        if len(table) == n_segments and pos + 27 + n_segments + sum(table) == len(tail):
            return "" if tail[pos + 5] & 0x04 else "no end-of-stream page"
    return "last Ogg page is cut short"


class AudioFileSource:
    """A `Source` of micro-turns from an audio file (any rate, channel count, int or float).

    >>> src = AudioFileSource("speech.flac")   # doctest: +SKIP
    >>> [t.seq for t in src][:3]               # doctest: +SKIP
    [0, 1, 2]
    """

    live = False

    def __init__(
        self, path: str | os.PathLike, *, channel: int | None = None, allow_truncated: bool = False
    ) -> None:
        self.path = str(path)
        self.data = read_audio(path, channel=channel, allow_truncated=allow_truncated)
        self.duration: float | None = self.data.duration

    def __len__(self) -> int:
        return self.data.n_chunks

    def __iter__(self) -> Iterator[MicroTurn]:
        samples = self.data.samples
        for seq in range(self.data.n_chunks):
            chunk, flags = conform_audio(samples[seq * CHUNK_SAMPLES : (seq + 1) * CHUNK_SAMPLES])
            yield MicroTurn(seq=seq, audio=chunk, flags=flags | self.data.flags_of(seq))

    def close(self) -> None:
        """Nothing to release: the file was read whole when the source was made."""

    def __repr__(self) -> str:
        d = self.data
        return (
            f"AudioFileSource({self.path!r}, {d.duration:.2f} s, {d.source_rate} Hz, "
            f"{d.channels} ch, {len(self)} micro-turns)"
        )


def n_microturns(duration: float) -> int:
    """Micro-turns needed to cover `duration` seconds: ceil(duration / 0.2), robust to rounding."""
    return max(0, math.ceil(round(duration / MICROTURN_S, 6)))
