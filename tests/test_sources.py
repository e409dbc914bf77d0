"""Sources: audio/video files, media + text, in-memory arrays, the live assembler, pacing, replay.

Real files are written in tmp dirs with soundfile and PyAV (and a y4m by hand); broken files are
made by cutting bytes. Nothing is mocked except clocks.
"""

from __future__ import annotations

import math
import random
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbduplex.microturn import (
    CHUNK_SAMPLES,
    SAMPLE_RATE,
    Flag,
    MicroTurn,
    TextEvent,
    float_to_int16,
    resample,
)
from nbduplex.sources import (
    ArraySource,
    AudioFileSource,
    ChunkAssembler,
    MediaSource,
    QueueSource,
    ReplaySource,
    Source,
    SourceError,
    open_source,
    paced,
    parse_text_arg,
    probe_video,
    read_audio,
    read_video_audio,
    read_video_frames,
)


def tone(seconds: float, rate: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def check_chunks(turns: list[MicroTurn], n_samples_16k: int) -> None:
    assert [t.seq for t in turns] == list(range(len(turns)))
    assert len(turns) == math.ceil(n_samples_16k / CHUNK_SAMPLES)
    for t in turns:
        assert t.audio.dtype == np.int16 and t.audio.shape == (CHUNK_SAMPLES,)


def write_y4m(path, n: int, fps: int = 10, h: int = 8, w: int = 16) -> None:
    """A 4:4:4 y4m whose frame i has luma 20 + 15 i (so frames can be told apart)."""
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C444\n".encode())
        for i in range(n):
            f.write(b"FRAME\n")
            f.write(np.full((3, h, w), [[[20 + 15 * i]], [[128]], [[128]]], np.uint8).tobytes())


def y4m_index(frame: np.ndarray) -> int:
    luma = 16 + float(frame[..., 0].mean()) * 219 / 255  # studio-range Y from the RGB grey
    return round((luma - 20) / 15)


def write_mp4(path, n: int, fps: int = 10, audio_s: float | None = None) -> None:
    import av

    with av.open(str(path), "w") as c:
        vs = c.add_stream("mpeg4", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 32, 24, "yuv420p"
        aus = c.add_stream("aac", rate=44100) if audio_s else None
        for i in range(n):
            img = np.full((24, 32, 3), min(255, 8 * i), np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if aus is not None:
            x = (tone(audio_s, 44100)[None, :] * 0.5).astype(np.float32)  # (1, n)
            for k in range(0, x.shape[1], 1024):
                fr = av.AudioFrame.from_ndarray(x[:, k : k + 1024], format="fltp", layout="mono")
                fr.sample_rate = 44100
                for p in aus.encode(fr):
                    c.mux(p)
            for p in aus.encode():
                c.mux(p)


# ------------------------------------------------------------------------------- audio files
def test_wav_44k_stereo_int16_resampled_once(tmp_path):
    x = (tone(1.03, 44100, channels=2) * 32767).astype(np.int16)
    sf.write(tmp_path / "a.wav", x, 44100, subtype="PCM_16")
    src = AudioFileSource(tmp_path / "a.wav")
    assert isinstance(src, Source) and not src.live
    turns = list(src)
    n16 = len(src.data.samples)
    assert abs(n16 - 1.03 * SAMPLE_RATE) <= 1
    check_chunks(turns, n16)
    assert abs(src.duration - 1.03) < 1e-3
    assert all({Flag.RESAMPLED, Flag.DOWNMIXED} <= t.flags for t in turns)
    assert Flag.PADDED in turns[-1].flags and all(Flag.PADDED not in t.flags for t in turns[:-1])
    # one whole-file resample: the chunks concatenate to exactly the reference signal
    ref = resample(x.mean(axis=1).astype(np.float32) / 32768, 44100)
    ref16 = float_to_int16(ref)
    joined = np.concatenate([t.audio for t in turns])
    assert np.array_equal(joined[:n16], ref16) and not joined[n16:].any()


def test_wav_16k_mono_int16_is_bit_exact(tmp_path):
    x = np.random.default_rng(0).integers(-32768, 32767, 16000, dtype=np.int16)
    sf.write(tmp_path / "m.wav", x, 16000, subtype="PCM_16")
    turns = list(AudioFileSource(tmp_path / "m.wav"))
    assert len(turns) == 5 and all(not t.flags for t in turns)
    assert np.array_equal(np.concatenate([t.audio for t in turns]), x)


def test_flac_8k_keeps_pitch_and_length(tmp_path):
    sf.write(tmp_path / "a.flac", tone(0.9, 8000, freq=1000), 8000)
    src = AudioFileSource(tmp_path / "a.flac")
    turns = list(src)
    check_chunks(turns, len(src.data.samples))
    assert len(turns) == 5 and abs(len(src.data.samples) - 14400) <= 1
    spec = np.abs(np.fft.rfft(src.data.samples.astype(float)))
    assert abs(np.argmax(spec) * SAMPLE_RATE / len(src.data.samples) - 1000) < 5
    assert Flag.RESAMPLED in turns[0].flags and Flag.DOWNMIXED not in turns[0].flags


def test_ogg_vorbis(tmp_path):
    sf.write(tmp_path / "a.ogg", tone(0.5, 22050, channels=2), 22050, format="OGG")
    src = AudioFileSource(tmp_path / "a.ogg")
    turns = list(src)
    check_chunks(turns, len(src.data.samples))
    assert len(turns) == 3 and np.abs(turns[1].audio).max() > 5000


def test_float_wav_with_nan_inf_and_overs_is_flagged_where_they_are(tmp_path):
    x = tone(1.0, 16000).astype(np.float32)
    x[100] = np.nan  # chunk 0
    x[7000] = np.inf  # chunk 2
    x[12000] = 3.0  # chunk 3: beyond full scale
    sf.write(tmp_path / "f.wav", x, 16000, subtype="FLOAT")
    turns = list(AudioFileSource(tmp_path / "f.wav"))
    nonfinite = [t.seq for t in turns if Flag.NONFINITE in t.flags]
    clipped = [t.seq for t in turns if Flag.CLIPPED in t.flags]
    assert nonfinite == [0, 2] and clipped == [3]
    assert turns[0].audio[100] == 0 and turns[2].audio[7000 - 6400] == 0
    assert turns[3].audio[12000 - 9600] == 32767


def test_channel_selection(tmp_path):
    x = np.zeros((8000, 2), np.float32)
    x[:, 0] = tone(0.5, 16000)
    sf.write(tmp_path / "s.wav", x, 16000, subtype="FLOAT")
    assert np.abs(read_audio(tmp_path / "s.wav", channel=0).samples).max() > 10000
    assert not read_audio(tmp_path / "s.wav", channel=-1).samples.any()
    with pytest.raises(SourceError, match="channel 2 out of range"):
        read_audio(tmp_path / "s.wav", channel=2)


def _bad_files(tmp_path) -> dict[str, object]:
    x = (tone(1.0, 16000) * 20000).astype(np.int16)
    sf.write(tmp_path / "ok.wav", x, 16000)
    sf.write(tmp_path / "ok.flac", x, 16000)
    sf.write(tmp_path / "ok.ogg", x, 16000, format="OGG")
    files = {}
    for name in ("ok.wav", "ok.flac", "ok.ogg"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut_{name}").write_bytes(data[: len(data) // 2 + 1])
        files[f"cut_{name}"] = "truncated"
    sf.write(tmp_path / "long.ogg", tone(4.0, 16000), 16000, format="OGG")
    data = (tmp_path / "long.ogg").read_bytes()
    (tmp_path / "page_cut.ogg").write_bytes(data[: data.rfind(b"OggS")])  # whole pages, no EOS
    files["page_cut.ogg"] = "no end-of-stream page"
    (tmp_path / "header_only.wav").write_bytes((tmp_path / "ok.wav").read_bytes()[:30])
    files["header_only.wav"] = "cannot read"
    (tmp_path / "empty.wav").write_bytes(b"")
    files["empty.wav"] = "empty"
    (tmp_path / "text.wav").write_text("this is not audio\n" * 50)
    files["text.wav"] = "cannot read"
    sf.write(tmp_path / "zero.wav", np.zeros(0, np.int16), 16000)
    files["zero.wav"] = "no samples"
    files["missing.wav"] = "not found"
    (tmp_path / "adir.wav").mkdir()
    files["adir.wav"] = "directory"
    return files


def test_bad_audio_files_give_one_clear_line(tmp_path):
    for name, words in _bad_files(tmp_path).items():
        with pytest.raises(SourceError) as e:
            AudioFileSource(tmp_path / name)
        msg = str(e.value)
        assert name in msg and words in msg and "\n" not in msg, (name, msg)


def test_truncated_wav_can_be_read_when_allowed(tmp_path):
    sf.write(tmp_path / "ok.wav", np.ones(16000, np.int16), 16000)
    data = (tmp_path / "ok.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: 44 + 2 * 7000])
    src = AudioFileSource(tmp_path / "cut.wav", allow_truncated=True)
    assert len(src.data.samples) == 7000 and len(list(src)) == 3


# ------------------------------------------------------------------------------- video files
def test_y4m_last_frame_per_microturn(tmp_path):
    write_y4m(tmp_path / "v.y4m", 13, fps=10)  # frames at 0.0, 0.1, ... 1.2 s
    info = probe_video(tmp_path / "v.y4m")
    assert (info.width, info.height, info.fps, info.has_audio) == (16, 8, 10.0, False)
    got = list(read_video_frames(tmp_path / "v.y4m"))
    assert [s for s, _ in got] == list(range(7))
    assert [[y4m_index(f) for f in fs] for _, fs in got] == [[1], [3], [5], [7], [9], [11], [12]]
    frame = got[0][1][0]
    assert frame.dtype == np.uint8 and frame.shape == (8, 16, 3)


def test_y4m_all_frames_two_per_turn_and_downscale(tmp_path):
    write_y4m(tmp_path / "v.y4m", 13, fps=30)  # 6 frames per micro-turn
    every = list(read_video_frames(tmp_path / "v.y4m", fps=None))
    assert sum(len(fs) for _, fs in every) == 13 and [len(fs) for _, fs in every] == [6, 6, 1]
    two = list(read_video_frames(tmp_path / "v.y4m", fps=10, size=8))
    assert [[y4m_index(f) for f in fs] for _, fs in two][:2] == [[2, 5], [8, 11]]
    assert two[0][1][0].shape == (4, 8, 3)
    exact = next(read_video_frames(tmp_path / "v.y4m", size=(5, 3)))[1][0]
    assert exact.shape == (3, 5, 3)
    with pytest.raises(ValueError):
        next(read_video_frames(tmp_path / "v.y4m", fps=0))


def test_mp4_frame_times_map_exactly_to_microturns(tmp_path):
    write_mp4(tmp_path / "v.mp4", 25, fps=10)  # 0.6 s must land in micro-turn 3, not 2
    got = list(read_video_frames(tmp_path / "v.mp4", fps=None))
    assert [len(fs) for _, fs in got] == [2] * 12 + [1]
    assert abs(probe_video(tmp_path / "v.mp4").duration - 2.5) < 0.05


def test_video_audio_track(tmp_path):
    write_mp4(tmp_path / "av.mp4", 10, fps=10, audio_s=1.0)
    audio = read_video_audio(tmp_path / "av.mp4")
    assert audio is not None and 0.95 < audio.duration < 1.1
    assert Flag.RESAMPLED in audio.flags and np.abs(audio.samples).max() > 3000
    write_mp4(tmp_path / "v.mp4", 5)
    assert read_video_audio(tmp_path / "v.mp4") is None


def test_bad_video_files(tmp_path):
    write_mp4(tmp_path / "v.mp4", 10)
    data = (tmp_path / "v.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.mp4").write_text("not a video\n" * 40)
    (tmp_path / "empty.mp4").write_bytes(b"")
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.int16), 16000)
    cases = {"cut.mp4": "", "text.mp4": "cannot open", "empty.mp4": "empty"}
    cases |= {"missing.mp4": "not found", "a.wav": "no video stream"}
    for name, words in cases.items():
        with pytest.raises(SourceError) as e:
            list(read_video_frames(tmp_path / name))
        assert name in str(e.value) and words in str(e.value) and "\n" not in str(e.value)


# ------------------------------------------------------------------------------- media + text
@pytest.mark.parametrize(
    ("arg", "want"),
    [("2.5:hello there", (2.5, "hello there")), ("0: hi ", (0.0, "hi")), ("1:a:b", (1.0, "a:b"))],
)
def test_parse_text_arg(arg, want):
    assert parse_text_arg(arg) == want


@pytest.mark.parametrize(
    ("arg", "words"),
    [
        ("hello", "SECONDS:TEXT"),
        ("-1:hi", ">= 0"),
        ("abc:hi", "not a number"),
        ("nan:hi", "finite"),
        ("2:", "empty"),
        ("2:   ", "empty"),
    ],
)
def test_parse_text_arg_rejects(arg, words):
    with pytest.raises(ValueError, match=words):
        parse_text_arg(arg)


def test_media_audio_video_text(tmp_path):
    sf.write(tmp_path / "a.wav", tone(0.5, 16000), 16000)  # 3 micro-turns (last padded)
    write_y4m(tmp_path / "v.y4m", 10, fps=10)  # 1.0 s: 5 micro-turns
    src = MediaSource(
        tmp_path / "a.wav", tmp_path / "v.y4m", text=[(0.6, "at 0.6"), (0.0, "first")]
    )
    turns = list(src)
    assert len(turns) == 5 and src.duration == pytest.approx(1.0)
    assert [len(t.frames) for t in turns] == [1] * 5
    assert turns[0].user_text == "first" and turns[3].text == (TextEvent("user", "at 0.6"),)
    assert Flag.PADDED in turns[2].flags and not turns[2].audio[1600:].any()
    assert all(Flag.PADDED in t.flags and not t.audio.any() for t in turns[3:])
    long_text = list(MediaSource(tmp_path / "a.wav", text=["1.9:late"]))
    assert len(long_text) == 10 and long_text[9].user_text == "late"


def test_media_video_only_is_unflagged_silence(tmp_path):
    write_y4m(tmp_path / "v.y4m", 7, fps=10)
    turns = list(open_source(video=tmp_path / "v.y4m"))
    assert len(turns) == 4 and all(not t.audio.any() and not t.flags for t in turns)
    write_mp4(tmp_path / "av.mp4", 10, fps=10, audio_s=1.0)
    with_sound = list(MediaSource(video=tmp_path / "av.mp4"))
    assert len(with_sound) >= 5 and np.abs(with_sound[2].audio).max() > 3000
    muted = list(MediaSource(video=tmp_path / "av.mp4", video_audio=False))
    assert not any(t.audio.any() for t in muted)
    with pytest.raises(ValueError):
        MediaSource()


def test_array_source_forms_and_errors():
    frame = np.zeros((4, 6, 3), np.uint8)
    src = ArraySource(
        (tone(0.3, 48000, channels=2) * 30000).astype(np.int32) << 8,
        48000,
        frames=[frame, None, [frame, frame[..., 0]]],
        text=[(0.25, TextEvent("agent", "done"))],
    )
    turns = list(src)
    assert len(turns) == 3 and [len(t.frames) for t in turns] == [1, 0, 2]
    assert turns[2].frames[1].shape == (4, 6, 3)  # grey made RGB
    assert turns[1].text == (TextEvent("agent", "done"),)
    assert {Flag.RESAMPLED, Flag.DOWNMIXED} <= turns[0].flags
    assert len(list(ArraySource(None, frames=np.zeros((4, 2, 2, 3), np.uint8)))) == 4
    with pytest.raises(ValueError):
        ArraySource(np.zeros(10), frames=[np.zeros((4, 4, 3), np.float32)])
    with pytest.raises(ValueError):
        ArraySource(np.zeros(10), rate=0)
    with pytest.raises(ValueError):
        ArraySource(np.array(["a"]))
    with pytest.raises(ValueError):
        ArraySource(None, text=[(1.0, "")])


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 30000),
    rate=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]),
    channels=st.integers(1, 3),
)
def test_array_source_preserves_length(n, rate, channels):
    a = np.random.default_rng(n).uniform(-0.5, 0.5, (n, channels)).astype(np.float32)
    src = ArraySource(a, rate)
    turns = list(src)
    n16 = len(src.audio.samples)
    assert abs(n16 - n * SAMPLE_RATE / rate) <= 1
    check_chunks(turns, n16)
    assert len(turns) == math.ceil(round(src.duration / 0.2, 6))


# ------------------------------------------------------------------------------- assembler
def chunk(seq: int) -> np.ndarray:
    return np.full(CHUNK_SAMPLES, seq + 1, np.int16)


def test_assembler_orders_and_counts():
    clock = [0.0]
    a = ChunkAssembler(clock=lambda: clock[0])
    assert a.push(1, chunk(1)) == "accepted"
    assert a.pop_ready() == []  # waiting for 0
    assert a.push(0, chunk(0), text=["hi"]) == "accepted"
    assert a.push(0, chunk(0)) == "duplicate"
    got = a.pop_ready()
    assert [t.seq for t in got] == [0, 1] and got[0].user_text == "hi"
    assert Flag.OUT_OF_ORDER in got[0].flags and got[1].audio[0] == 2
    assert a.push(1, chunk(1)) == "duplicate"
    # a gap: 2 never comes; 3 waits max_wait, then 2 is emitted as missing
    a.push(3, chunk(3), wall=100.0)
    clock[0] = 0.39
    assert a.pop_ready() == []
    clock[0] = 0.41
    got = a.pop_ready()
    assert [t.seq for t in got] == [2, 3] and got[0].flags == {Flag.MISSING}
    assert not got[0].audio.any() and got[0].wall == pytest.approx(99.8)
    assert a.push(2, chunk(2), text=["late words"]) == "late"  # not re-emitted; text carried
    a.push(4, chunk(4))
    got = a.pop_ready()
    assert [t.seq for t in got] == [4] and got[0].user_text == "late words"
    assert a.push(10**6, chunk(0)) == "rejected"
    a.push(6, chunk(6))
    a.end(last_seq=8)
    assert [t.seq for t in a.pop_ready()] == [5, 6, 7, 8] and a.finished
    s = a.stats
    assert s == s | {"missing": 4, "late": 1, "duplicate": 2, "out_of_order": 1, "rejected": 1}
    assert s["received"] == s["emitted"] - s["missing"] + s["late"] + s["duplicate"] + 1


def test_assembler_jpeg_frames_and_bad_input():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((6, 8, 3), 200, np.uint8)).save(buf, format="JPEG")
    a = ChunkAssembler()
    a.push(0, chunk(0), frames=[buf.getvalue(), b"not a jpeg"])
    a.push(1, np.zeros(100, np.float32), 8000)  # short, off-rate: padded + resampled
    a.push(2, np.array(["x"]))  # unusable audio: the slot is missing
    a.close()
    t0, t1, t2 = a.pop_ready()
    assert len(t0.frames) == 1 and t0.frames[0].shape == (6, 8, 3)
    assert {Flag.PADDED, Flag.RESAMPLED} <= t1.flags and t2.flags == {Flag.MISSING}
    assert a.stats["bad_frames"] == 1 and a.stats["bad_audio"] == 1 and a.closed
    with pytest.raises(TypeError):
        a.push("3", chunk(3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 25),
    seed=st.integers(0, 10**6),
    p_drop=st.floats(0, 0.5),
    p_dup=st.floats(0, 0.5),
)
def test_assembler_property(n, seed, p_drop, p_dup):
    """Random drops, duplicates, delays and reordering: output strictly ordered, each seq once."""
    rng = random.Random(seed)
    arrivals = []
    for seq in range(n):
        if rng.random() < p_drop:
            continue
        for _ in range(2 if rng.random() < p_dup else 1):
            arrivals.append((seq * 0.2 + rng.expovariate(1 / 0.3), seq))  # jittered delivery
    arrivals.sort()
    a = ChunkAssembler(clock=lambda: 0.0)
    out: list[MicroTurn] = []
    for when, seq in arrivals:
        out += a.pop_ready(now=when)
        a.push(seq, chunk(seq), now=when)
    out += a.pop_ready(now=math.inf)
    a.end(last_seq=n - 1)
    out += a.pop_ready(now=math.inf)
    seqs = [t.seq for t in out]
    assert seqs == list(range(n))  # strictly ordered, every seq exactly once
    s = a.stats
    real = [t for t in out if Flag.MISSING not in t.flags]
    assert s["emitted"] == n and s["missing"] == n - len(real) and s["pending"] == 0
    assert s["received"] == len(arrivals) == len(real) + s["late"] + s["duplicate"] + s["rejected"]
    assert all(t.audio[0] == t.seq + 1 for t in real)
    missing = {t.seq for t in out if Flag.MISSING in t.flags}
    assert s["late"] == sum(seq in missing for _, seq in arrivals)  # every copy of a lost slot
    assert all(not t.audio.any() for t in out if Flag.MISSING in t.flags)


def test_queue_source_threads():
    a = ChunkAssembler(max_wait=1.0)  # generous: a busy machine must not make 0 "missing"
    src = QueueSource(a)
    assert src.live and src.duration is None
    order = [1, 0, 2, 2, 4, 3, 5, 7, 8, 9]  # 6 never comes

    def producer():
        for seq in order:
            src.push(seq, chunk(seq))
            time.sleep(0.005)
        time.sleep(0.05)
        src.close()  # flushes: the gap at 6 is emitted as missing

    th = threading.Thread(target=producer)
    th.start()
    t0 = time.monotonic()
    got = list(src)
    th.join()
    assert time.monotonic() - t0 < 2
    assert [t.seq for t in got] == list(range(10))
    assert got[6].flags == {Flag.MISSING} and a.stats["duplicate"] == 1


# ------------------------------------------------------------------------------- pacing
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_paced_releases_each_turn_at_the_end_of_its_chunk():
    c = FakeClock()
    turns = list(ArraySource(np.zeros(16000, np.int16)))
    released = []
    for t in paced(turns, clock=c, sleep=c.sleep, wall=lambda: c.now + 1000):
        released.append((t.seq, c.now - 100.0, t.wall))
        c.now += 0.05  # the consumer works 50 ms per turn: still ahead of real time
    assert [round(r, 6) for _, r, _ in released] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert all(w == pytest.approx(r + 1100) for _, r, w in released)


def test_paced_speed_and_lagging_consumer():
    c = FakeClock()
    turns = list(ArraySource(np.zeros(16000, np.int16)))
    times = []
    for _ in paced(turns, speed=2.0, clock=c, sleep=c.sleep):
        times.append(c.now - 100.0)
        c.now += 0.3  # slower than 2x real time: never sleeps again, never drops
    assert len(times) == 5 and times[0] == pytest.approx(0.1)
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))
    assert list(paced(turns, speed=math.inf, sleep=lambda s: pytest.fail("slept")))
    with pytest.raises(ValueError):
        next(paced(turns, speed=0))


# ------------------------------------------------------------------------------- replay
def test_replay_roundtrip(tmp_path):
    pytest.importorskip("nbduplex.trace")
    from nbduplex.decision import Decision
    from nbduplex.trace import Trace

    frame = np.full((8, 8, 3), 90, np.uint8)
    audio = (tone(0.6, 16000) * 20000).astype(np.int16)
    src = ArraySource(audio, frames={1: frame}, text=[(0.45, "typed")])
    with Trace(tmp_path / "run") as trace:
        for turn in src:
            trace.append(turn.with_(model_speaking=True), Decision())
    original = list(src)
    for replay in (ReplaySource(tmp_path / "run"), open_source(tmp_path / "run")):
        again = list(replay)
        assert replay.duration == pytest.approx(0.6)
        assert [t.seq for t in again] == [0, 1, 2]
        for a, b in zip(original, again, strict=True):
            assert np.array_equal(a.audio, b.audio) and a.text == b.text and a.flags == b.flags
            assert len(a.frames) == len(b.frames) and not b.model_speaking
            assert math.isnan(b.wall)
        assert np.abs(again[1].frames[0].astype(int) - 90).max() <= 3  # JPEG-stored
    with pytest.raises(SourceError, match="trace directory not found"):
        ReplaySource(tmp_path / "nope")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x").write_text("x")
    with pytest.raises(SourceError, match="cannot load trace"):
        ReplaySource(tmp_path / "junk")


def test_queue_source_ends_when_the_sender_goes_silent():
    """A dead browser tab must not block the session forever."""
    clock = [0.0]
    asm = ChunkAssembler(clock=lambda: clock[0])
    src = QueueSource(asm, poll=0.001, idle_timeout=1.0)
    asm.push(0, np.zeros(CHUNK_SAMPLES, np.int16), now=0.0)
    it = iter(src)
    assert next(it).seq == 0
    clock[0] = 5.0  # nothing arrives for 5 s (idle_timeout 1 s)
    assert list(it) == [] and src.timed_out
    assert asm.push(1, np.zeros(CHUNK_SAMPLES, np.int16), now=5.0) == "rejected"
