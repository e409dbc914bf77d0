"""Sources: everything that turns input into 200 ms micro-turns behind one `Source` interface.

- `AudioFileSource` (wav/flac/ogg), `read_video_frames` (FFmpeg via PyAV), `MediaSource`
  (audio + video + typed text), `ArraySource` (in-memory arrays);
- `ChunkAssembler` + `QueueSource` for live, unreliable arrivals (the browser);
- `ReplaySource` for the input of a saved trace; `paced` for real-time replay of any source;
- `open_source(audio=, video=, text=)`: the one-call entry point (the CLI uses it).

Files that cannot be read raise `SourceError` with one line naming the file; malformed
arguments (a bad "SECONDS:TEXT") raise `ValueError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from nbduplex.sources.assembler import ChunkAssembler, QueueSource
from nbduplex.sources.audio_file import AudioData, AudioFileSource, n_microturns, read_audio
from nbduplex.sources.base import Source, SourceError
from nbduplex.sources.media import (
    ArraySource,
    MediaSource,
    array_audio,
    frames_by_turn,
    parse_text_arg,
    text_by_turn,
)
from nbduplex.sources.pacing import paced
from nbduplex.sources.replay import ReplaySource
from nbduplex.sources.video_file import VideoInfo, probe_video, read_video_audio, read_video_frames

__all__ = [
    "ArraySource",
    "AudioData",
    "AudioFileSource",
    "ChunkAssembler",
    "MediaSource",
    "QueueSource",
    "ReplaySource",
    "Source",
    "SourceError",
    "VideoInfo",
    "array_audio",
    "frames_by_turn",
    "n_microturns",
    "open_source",
    "paced",
    "parse_text_arg",
    "probe_video",
    "read_audio",
    "read_video_audio",
    "read_video_frames",
    "text_by_turn",
]


def open_source(
    audio: str | os.PathLike | np.ndarray | Source | None = None,
    video: str | os.PathLike | None = None,
    text: Iterable[str | tuple[float, str]] | None = None,
    **kw: Any,
) -> Source:
    """Open whatever the user pointed at as a Source.

    `audio` may be a file path, an array (pass `rate=`), an existing Source (returned as is)
    or a saved trace directory (replayed; then video and text must be None). `text` holds
    "SECONDS:TEXT" strings or (seconds, text) pairs. Extra keywords go to `MediaSource`
    (rate, channel, fps, size, video_audio).
    """
    if audio is not None and isinstance(audio, Source) and not isinstance(audio, np.ndarray):
        return audio
    if isinstance(audio, str | os.PathLike) and Path(audio).is_dir():
        if video is not None or text:
            raise ValueError("a trace directory is replayed as recorded: no video or text with it")
        return ReplaySource(audio)
    if audio is None and video is None and not text:
        raise ValueError("nothing to open: give audio, video or text")
    return MediaSource(audio, video, list(text) if text else None, **kw)
