"""Combine audio, video frames and typed text into micro-turns: `MediaSource` and `ArraySource`.

Timing: audio sample i is in micro-turn i // 3200 (16 kHz); a video frame at presentation time
t is in micro-turn floor(t / 0.2); typed text at s seconds arrives in micro-turn floor(s / 0.2)
as a `TextEvent("user", text)`. The stream lasts as long as the longest input.

Silence (a decision, documented here): `missing` is reserved for audio that should have
arrived and did not (a lost live chunk). When there is no audio input at all (video only, text
only) the audio is real digital silence, zeros with no flag. When an audio input is shorter
than the video or the last text, the micro-turns after its end are zeros flagged `padded`
(the audio was padded to the stream's length).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from nbduplex.microturn import (
    CHUNK_SAMPLES,
    MICROTURN_S,
    SAMPLE_RATE,
    Flag,
    MicroTurn,
    TextEvent,
    conform_audio,
)
from nbduplex.sources.audio_file import AudioData, _convert, n_microturns, read_audio
from nbduplex.sources.video_file import Size, probe_video, read_video_audio, read_video_frames

TextSpec = Iterable[tuple[float, str | TextEvent] | str]  # (seconds, text) or "SECONDS:TEXT"
FrameSpec = Sequence[Any] | Mapping[int, Any] | np.ndarray  # per micro-turn: frame(s) or None


def parse_text_arg(arg: str) -> tuple[float, str]:
    """'2.5:hello there' -> (2.5, 'hello there'); ValueError with a clear message when malformed."""
    if not isinstance(arg, str) or ":" not in arg:
        raise ValueError(f"bad text event {arg!r}: expected SECONDS:TEXT, e.g. '2.5:hello there'")
    head, text = arg.split(":", 1)
    try:
        seconds = float(head.strip())
    except ValueError:
        raise ValueError(
            f"bad text event {arg!r}: {head.strip()!r} is not a number of seconds"
        ) from None
    return _check_text(seconds, text, arg)


def _check_text(seconds: float, text: str, what: object) -> tuple[float, str]:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"bad text event {what!r}: seconds must be finite and >= 0")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"bad text event {what!r}: the text is empty")
    return float(seconds), text.strip()


def text_by_turn(text: TextSpec | None) -> dict[int, tuple[TextEvent, ...]]:
    """Typed text events grouped by the micro-turn they arrive in (role 'user' unless given)."""
    out: dict[int, list[TextEvent]] = {}
    for item in text or ():
        if isinstance(item, str):
            seconds, body = parse_text_arg(item)
            event = TextEvent("user", body)
        else:
            try:
                seconds, body = item
            except (TypeError, ValueError):
                raise ValueError(f"bad text event {item!r}: expected (seconds, text)") from None
            if isinstance(body, TextEvent):
                _check_text(float(seconds), body.text, item)
                event = body
            else:
                seconds, body = _check_text(float(seconds), body, item)
                event = TextEvent("user", body)
        seq = math.floor(round(float(seconds) / MICROTURN_S, 9))
        out.setdefault(seq, []).append(event)
    return {k: tuple(v) for k, v in sorted(out.items())}


def array_audio(audio: np.ndarray, rate: int = SAMPLE_RATE) -> AudioData:
    """An in-memory (n,) or (n, channels) int/float array at `rate` as AudioData (16 kHz int16)."""
    a = np.asarray(audio)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"audio must be a numeric array, got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"audio must be (samples,) or (samples, channels), got shape {a.shape}")
    if not (isinstance(rate, int | np.integer) and rate > 0):
        raise ValueError(f"rate must be a positive integer in Hz, got {rate!r}")
    a2 = a[:, None] if a.ndim == 1 else a  # (n, c)
    if a2.shape[1] == 0:
        raise ValueError("audio has zero channels")
    if a2.dtype.kind == "f":
        a2 = a2.astype(np.float32, copy=False)
    return _convert(a2, int(rate), "<array>", a2.shape[1])


def _as_frame(f: Any) -> np.ndarray:
    a = np.asarray(f)
    if a.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB, got dtype {a.dtype}")
    if a.ndim == 2:  # grey -> RGB
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or 0 in a.shape:
        raise ValueError(f"a frame must be (H, W, 3) uint8, got shape {a.shape}")
    return np.ascontiguousarray(a[:, :, :3])


def frames_by_turn(frames: FrameSpec | None) -> dict[int, tuple[np.ndarray, ...]]:
    """Normalise per-micro-turn frames: index -> None | frame | sequence of frames; or (N,H,W,3)."""
    if frames is None:
        return {}
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4:
            raise ValueError(f"a frame array must be (N, H, W, 3), got shape {frames.shape}")
        items: Iterable[tuple[int, Any]] = enumerate(frames)
    elif isinstance(frames, Mapping):
        items = frames.items()
    else:
        items = enumerate(frames)
    out: dict[int, tuple[np.ndarray, ...]] = {}
    for seq, fs in items:
        if not isinstance(seq, int | np.integer) or seq < 0:
            raise ValueError(f"frame micro-turn index must be an int >= 0, got {seq!r}")
        if fs is None:
            continue
        if isinstance(fs, np.ndarray) and fs.ndim in (2, 3):
            fs = (fs,)
        got = tuple(_as_frame(f) for f in fs)
        if got:
            out[int(seq)] = got
    return out


def _turns(
    n_turns: int,
    audio: AudioData | None,
    frames: Iterator[tuple[int, tuple[np.ndarray, ...]]],
    text: Mapping[int, tuple[TextEvent, ...]],
) -> Iterator[MicroTurn]:
    """The common core: at least `n_turns` micro-turns, more while frames keep coming."""
    n_audio = audio.n_chunks if audio is not None else 0
    next_frames = next(frames, None)
    seq = 0
    while seq < n_turns or next_frames is not None:
        if seq < n_audio:
            chunk = audio.samples[seq * CHUNK_SAMPLES : (seq + 1) * CHUNK_SAMPLES]
            pcm, flags = conform_audio(chunk)
            flags = flags | audio.flags_of(seq)
        else:
            pcm = np.zeros(CHUNK_SAMPLES, np.int16)
            flags = frozenset({Flag.PADDED}) if audio is not None else frozenset()
        got: tuple[np.ndarray, ...] = ()
        while next_frames is not None and next_frames[0] <= seq:
            got += next_frames[1]
            next_frames = next(frames, None)
        yield MicroTurn(seq=seq, audio=pcm, frames=got, text=text.get(seq, ()), flags=flags)
        seq += 1


class ArraySource:
    """A `Source` over in-memory inputs (tests, scenarios, notebooks).

    `audio`: (n,) or (n, channels) int/float at `rate` Hz, or None (silence).
    `frames`: per micro-turn (list index or dict key = seq): None, one (H, W, 3) uint8 frame or
    a sequence of them; or an (N, H, W, 3) array (one frame per micro-turn).
    `text`: (seconds, text) pairs, (seconds, TextEvent) pairs or "SECONDS:TEXT" strings.
    """

    live = False

    def __init__(
        self,
        audio: np.ndarray | None,
        rate: int = SAMPLE_RATE,
        frames: FrameSpec | None = None,
        text: TextSpec | None = None,
    ) -> None:
        self.audio = array_audio(audio, rate) if audio is not None else None
        self.frames = frames_by_turn(frames)
        self.text = text_by_turn(text)
        n = max(
            self.audio.n_chunks if self.audio is not None else 0,
            max(self.frames, default=-1) + 1,
            max(self.text, default=-1) + 1,
        )
        self.n_turns = n
        self.duration: float | None = _duration(self.audio, n)

    def __len__(self) -> int:
        return self.n_turns

    def __iter__(self) -> Iterator[MicroTurn]:
        return _turns(self.n_turns, self.audio, iter(sorted(self.frames.items())), self.text)

    def close(self) -> None:
        """Nothing to release."""


class MediaSource:
    """A `Source` combining an audio file or array, a video file and typed text events.

    With `audio=None` and a video that has an audio track, that track is the audio (set
    `video_audio=False` for silence instead). `fps` and `size` select and scale video frames
    (see `read_video_frames`). `duration` is the longest input, from the file headers.
    """

    live = False

    def __init__(
        self,
        audio: str | os.PathLike | np.ndarray | None = None,
        video: str | os.PathLike | None = None,
        text: TextSpec | None = None,
        rate: int = SAMPLE_RATE,
        *,
        channel: int | None = None,
        fps: float | None = 5.0,
        size: Size = None,
        video_audio: bool = True,
    ) -> None:
        if audio is None and video is None and not text:
            raise ValueError("MediaSource needs at least one of audio, video or text")
        if isinstance(audio, str | os.PathLike):
            self.audio: AudioData | None = read_audio(audio, channel=channel)
        elif audio is not None:
            self.audio = array_audio(audio, rate)
        else:
            self.audio = None
        self.video = str(video) if video is not None else None
        self.fps, self.size = fps, size
        video_turns = 0
        if self.video is not None:
            info = probe_video(self.video)  # fails early, with a SourceError, on a bad file
            if info.duration is not None:
                video_turns = n_microturns(info.duration)
            if self.audio is None and video_audio and info.has_audio:
                self.audio = read_video_audio(self.video)
        self.text = text_by_turn(text)
        self.n_turns = max(
            self.audio.n_chunks if self.audio is not None else 0,
            video_turns,
            max(self.text, default=-1) + 1,
        )
        self.duration: float | None = _duration(self.audio, self.n_turns)
        self._running: list[Iterator] = []

    def __iter__(self) -> Iterator[MicroTurn]:
        frames: Iterator = (
            read_video_frames(self.video, fps=self.fps, size=self.size)
            if self.video is not None
            else iter(())
        )
        it = _turns(self.n_turns, self.audio, frames, self.text)
        self._running.append(frames)
        return it

    def close(self) -> None:
        """Stop any video decoding in progress (closes the container)."""
        for g in self._running:
            close = getattr(g, "close", None)
            if close is not None:
                close()
        self._running.clear()


def _duration(audio: AudioData | None, n_turns: int) -> float:
    """The longest input: the exact audio length if audio is longest, else whole micro-turns."""
    longest = n_turns * MICROTURN_S
    if audio is not None and audio.n_chunks == n_turns:
        return audio.duration
    return longest
