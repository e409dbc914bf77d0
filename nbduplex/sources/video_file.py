"""Video files (y4m, mp4, webm, avi, mkv, anything FFmpeg reads) as frames per micro-turn.

PyAV (FFmpeg bindings, a manylinux wheel with its own FFmpeg) decodes the first video stream.
A frame shown at presentation time t (seconds from the container's start) belongs to
micro-turn floor(t / 0.2), computed exactly from the integer timestamp and time base, so a
frame at 0.6 s is in micro-turn 3, not 2. By default the *last* frame of each 200 ms is kept
(`fps=5`); `fps=10` keeps two evenly spaced frames per micro-turn ending with the last, and
`fps=None` keeps every frame. `size` downscales: an int bounds the longest side, a
(width, height) pair is exact.

`read_video_audio` returns the container's audio track (if any) converted like an audio file.
Every failure is a `SourceError` naming the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from nbduplex.microturn import MICROTURN_S
from nbduplex.sources.audio_file import AudioData, _convert, _one_line
from nbduplex.sources.base import SourceError

_TURNS_PER_S = Fraction(1) / Fraction(MICROTURN_S).limit_denominator(1000)  # 5 micro-turns / s

Size = int | tuple[int, int] | None  # longest side in pixels, or (width, height), or unchanged


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, from its headers."""

    path: str
    width: int  # pixels
    height: int  # pixels
    fps: float | None  # average frame rate, frames/s, when the container knows it
    duration: float | None  # seconds, when the container knows it
    has_audio: bool  # the container has an audio stream


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Open a video file's headers (no decoding); `SourceError` when it cannot be read."""
    with _open(path) as c:
        s = c.streams.video[0]
        dur = c.duration / 1e6 if c.duration else None
        if dur is None and s.duration is not None and s.time_base is not None:
            dur = float(s.duration * s.time_base)
        rate = float(s.average_rate) if s.average_rate else None
        return VideoInfo(
            str(path),
            s.codec_context.width,
            s.codec_context.height,
            rate,
            dur,
            bool(c.streams.audio),
        )


def read_video_frames(
    path: str | os.PathLike, fps: float | None = 5.0, size: Size = None
) -> Iterator[tuple[int, tuple[np.ndarray, ...]]]:
    """Yield (seq, frames) for every micro-turn that has at least one frame, seq increasing.

    Frames are (H, W, 3) uint8 RGB. `fps` sets how many frames a micro-turn keeps
    (max(1, round(fps * 0.2)), evenly spaced, always including the last one); None keeps all.
    """
    if fps is not None and not (fps > 0 and math.isfinite(fps)):
        raise ValueError(f"fps must be a positive number or None, got {fps!r}")
    keep = None if fps is None else max(1, round(fps * MICROTURN_S))
    name = str(path)
    with _open(path) as c:
        stream = c.streams.video[0]
        origin = Fraction(c.start_time or 0, 1_000_000)  # seconds; shared by all streams
        dims = _target_size(stream.codec_context.width, stream.codec_context.height, size)
        pending: list = []  # decoded av.VideoFrames of micro-turn `current`
        current = -1
        index = 0
        try:
            for frame in c.decode(stream):
                seq = max(_seq_of(frame, origin, stream, index), current, 0)
                index += 1
                if seq != current and pending:
                    yield current, _pick(pending, keep, dims)
                    pending = []
                current = seq
                pending.append(frame)
        except SourceError:
            raise
        except Exception as e:  # FFmpeg decode errors in the middle of the file
            raise SourceError(
                f"video file is corrupt or truncated: {name}: {_one_line(e)}"
            ) from None
        if pending:
            yield current, _pick(pending, keep, dims)
        elif index == 0:
            raise SourceError(f"video file has no decodable frames: {name}")


def read_video_audio(path: str | os.PathLike) -> AudioData | None:
    """The first audio track of a video container as AudioData (16 kHz mono), or None."""
    import av

    name = str(path)
    with _open(path, need_video=False) as c:
        if not c.streams.audio:
            return None
        stream = c.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        parts: list[np.ndarray] = []
        try:
            planar = av.AudioResampler(format="fltp", rate=rate)  # same layout, float planar
            for frame in c.decode(stream):
                for out in planar.resample(frame):
                    parts.append(out.to_ndarray())  # (channels, n) float32
            for out in planar.resample(None):
                parts.append(out.to_ndarray())
        except Exception as e:
            raise SourceError(f"cannot decode the audio track of {name}: {_one_line(e)}") from None
    if not parts or sum(p.shape[1] for p in parts) == 0:
        return None
    data = np.concatenate(parts, axis=1).T.astype(np.float32)  # (n, channels)
    return _convert(data, int(rate), name, data.shape[1])


def _open(path: str | os.PathLike, *, need_video: bool = True):
    import av

    p = Path(path)
    name = str(path)
    if not p.exists():
        raise SourceError(f"video file not found: {name}")
    if p.is_dir():
        raise SourceError(f"video path is a directory, not a file: {name}")
    if p.stat().st_size == 0:
        raise SourceError(f"video file is empty (0 bytes): {name}")
    try:
        c = av.open(name)
    except Exception as e:
        raise SourceError(f"cannot open video file {name}: {_one_line(e)}") from None
    if need_video and not c.streams.video:
        c.close()
        raise SourceError(f"file has no video stream: {name}")
    return c


def _seq_of(frame, origin: Fraction, stream, index: int) -> int:
    """Micro-turn of a frame from its exact presentation time (or its index when untimed)."""
    tb = frame.time_base or stream.time_base
    if frame.pts is not None and tb is not None:
        t = frame.pts * Fraction(tb) - origin
    else:  # no timestamps: assume a constant rate
        rate = Fraction(stream.average_rate or 25)
        t = Fraction(index) / rate
    return math.floor(t * _TURNS_PER_S)


def _target_size(width: int, height: int, size: Size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        if size <= 0:
            raise ValueError(f"size must be positive, got {size}")
        scale = size / max(width, height)
        if scale >= 1:
            return None
        return max(1, round(width * scale)), max(1, round(height * scale))
    w, h = size
    if w <= 0 or h <= 0:
        raise ValueError(f"size must be positive, got {size}")
    return int(w), int(h)


def _pick(frames: list, keep: int | None, dims: tuple[int, int] | None) -> tuple[np.ndarray, ...]:
    """Keep `keep` evenly spaced frames ending with the last one; convert them to RGB arrays."""
    m = len(frames)
    if keep is not None and keep < m:
        idx = sorted({math.floor(m - 1 - i * m / keep) for i in range(keep)})
        frames = [frames[i] for i in idx]
    kw = {} if dims is None else {"width": dims[0], "height": dims[1]}
    return tuple(np.ascontiguousarray(f.to_ndarray(format="rgb24", **kw)) for f in frames)
