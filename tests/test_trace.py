"""Trace: append-only recording, load after a crash, save, pandas and exports."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbduplex.decision import ACTIONS, Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, Flag, MicroTurn, TextEvent
from nbduplex.trace import Trace, TraceError
from nbduplex.trace.export import EVENT_KEYS, chrome_events

N = 12


def smooth_frame(k: int, h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth RGB image (JPEG keeps it close), different per k."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / w, y * 255 / h, np.full((h, w), (k * 37) % 256)], axis=-1)
    return img.astype(np.uint8)  # (H, W, 3)


def make_turn(k: int, rng: np.random.Generator, loud: bool | None = None) -> MicroTurn:
    loud = (k // 3) % 2 == 1 if loud is None else loud
    audio = rng.normal(0, 4000 if loud else 10, CHUNK_SAMPLES).astype(np.int16)
    frames = tuple(smooth_frame(k + i) for i in range(k % 3))  # 0, 1 or 2 frames
    text = (TextEvent("user", f"typed {k}"),) if k == 4 else ()
    text += (TextEvent("agent", "result"),) if k == 7 else ()
    flags = frozenset({Flag.PADDED, Flag.LATE}) if k == 5 else frozenset()
    return MicroTurn(k, audio, frames=frames, text=text, wall=1000.0 + 0.2 * k, flags=flags)


def make_decision(k: int) -> Decision:
    action = {3: Action.RESPOND, 6: Action.BACKCHANNEL, 9: Action.DELEGATE}.get(k, Action.LISTEN)
    p = np.full(len(ACTIONS), 0.02, dtype=np.float32)
    p[ACTIONS.index(action.value)] = 0.9
    return Decision(
        action,
        probs={a: np.float32(v) for a, v in zip(ACTIONS, p, strict=True)},
        text="sure, here it is" if action == Action.RESPOND else "",
        task="look it up" if action == Action.DELEGATE else None,
        attribution={"audio[-0.6s,0s]": np.float64(0.75), "text": 0.25},
        step_ms=np.float64(1.25 + k),
        info={"vad": np.float32(0.9 if (k // 3) % 2 else 0.1)},
    )


def output_chunk(k: int) -> np.ndarray:
    return np.full(CHUNK_SAMPLES, 500 if 4 <= k < 8 else 0, np.int16)  # speech in chunks 4..7


def fill(trace: Trace, n: int = N, seed: int = 0) -> list[MicroTurn]:
    rng = np.random.default_rng(seed)
    turns = []
    for k in range(n):
        turn = make_turn(k, rng)
        trace.append(turn, make_decision(k), output_chunk(k), latency_ms=np.float32(3.5))
        turns.append(turn)
    task = trace.add_span("agent_task", 1.8, label="look it up", task="look it up")
    trace.add_span("tool_call", 1.9, 2.1, label="search", parent=task)
    trace.add_span("tool_call", 2.0, 2.2, label="calc", parent=task)  # overlaps the search
    trace.end_span(task, 2.3, result="42")
    trace.add_span("agent_task", 2.2, label="never finished")
    trace.add_span("setting", 0.4, 0.4, label="eagerness", value=0.7)
    return turns


@pytest.fixture()
def disk_trace(tmp_path: Path) -> tuple[Trace, list[MicroTurn], Path]:
    d = tmp_path / "run"
    trace = Trace(d, meta={"policy": "scripted", "seed": np.int64(3)}, jpeg_quality=90)
    turns = fill(trace)
    yield trace, turns, d
    trace.close()


def assert_same(a: Trace, b: Trace) -> None:
    assert a.rows == b.rows
    assert a.spans == b.spans
    np.testing.assert_array_equal(a.input_audio(), b.input_audio())
    np.testing.assert_array_equal(a.output_audio(), b.output_audio())
    for r in a.rows:
        for fa, fb in zip(a.frames(r["seq"]), b.frames(r["seq"]), strict=True):
            np.testing.assert_array_equal(fa, fb)


# ----------------------------------------------------------------- roundtrip
def test_disk_roundtrip(disk_trace) -> None:
    trace, turns, d = disk_trace
    trace.close()
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["meta.json", "turns.jsonl", "spans.jsonl", "input.pcm", "output.pcm", "frames.bin"]
    )
    loaded = Trace.load(d)
    assert loaded.recovery == []
    assert_same(trace, loaded)
    assert len(loaded) == N and loaded.policy == "scripted" and loaded.meta["seed"] == 3
    meta = json.loads((d / "meta.json").read_text())
    assert meta["n_turns"] == N and meta["closed"] and meta["sample_rate"] == 16000
    np.testing.assert_array_equal(loaded.input_audio(), np.concatenate([t.audio for t in turns]))
    for turn in turns:
        got = loaded.microturn(turn.seq)
        np.testing.assert_array_equal(got.audio, turn.audio)
        assert got.text == turn.text and got.flags == turn.flags and got.wall == turn.wall
        assert len(got.frames) == len(turn.frames)
        for fa, fb in zip(got.frames, turn.frames, strict=True):
            assert fa.shape == fb.shape and fa.dtype == np.uint8
            assert np.abs(fa.astype(int) - fb.astype(int)).mean() < 3.0  # JPEG, not exact
    open_span = next(s for s in loaded.spans if s["label"] == "never finished")
    assert open_span["end"] is None
    task = loaded.spans[0]
    assert task["end"] == 2.3 and task["result"] == "42" and task["task"] == "look it up"


def test_rows_are_json_native(disk_trace) -> None:
    trace, _, _ = disk_trace
    row = trace.rows[3]
    assert set(row) >= {
        "seq",
        "t",
        "wall",
        "flags",
        "level_db",
        "user_text",
        "action",
        "probs",
        "text",
        "task",
        "step_ms",
        "speaking",
        "attribution",
        "info",
        "n_frames",
        "latency_ms",
    }
    json.dumps(trace.rows, allow_nan=False)
    assert type(row["probs"]["respond"]) is float and type(row["latency_ms"]) is float
    assert type(row["info"]["vad"]) is float and type(row["step_ms"]) is float
    assert row["action"] == "respond" and row["text"] == "sure, here it is"
    assert trace.rows[5]["flags"] == ["late", "padded"]  # sorted list
    assert trace.rows[4]["user_text"] == "typed 4" and trace.rows[9]["task"] == "look it up"
    assert [r["n_frames"] for r in trace.rows[:3]] == [0, 1, 2]
    assert [r["speaking"] for r in trace.rows] == [4 <= k < 8 for k in range(N)]


def test_nan_wall_and_speaking_override() -> None:
    trace = Trace()
    row = trace.append(MicroTurn(0, np.zeros(CHUNK_SAMPLES, np.int16)), Decision(), None)
    assert row["wall"] is None and row["speaking"] is False and row["level_db"] == -100.0
    loud = np.full(CHUNK_SAMPLES, 0.5, np.float32)  # float output is converted
    row = trace.append(
        MicroTurn(1, np.zeros(CHUNK_SAMPLES, np.int16)), Decision(), loud, speaking=False
    )
    assert row["speaking"] is False and trace.output_audio()[-1] == 16384
    assert math.isnan(trace.microturn(0).wall)


def test_memory_trace_save_and_load(tmp_path: Path) -> None:
    trace = Trace(meta={"policy": "mem"})
    fill(trace)
    assert trace.directory is None and not any(tmp_path.iterdir())
    d = trace.save(tmp_path / "saved")
    loaded = Trace.load(d)
    assert loaded.recovery == [] and loaded.policy == "mem"
    assert_same(trace, loaded)
    with pytest.raises(TraceError, match="not empty"):
        trace.save(d)
    trace.save(d, overwrite=True)
    again = tmp_path / "again"
    loaded.save(again)  # a loaded (file-backed) trace saves too
    assert_same(trace, Trace.load(again))


def test_load_while_still_recording(disk_trace) -> None:
    trace, _, d = disk_trace  # not closed: everything flushed so far is readable
    assert_same(trace, Trace.load(d))
    trace.append(make_turn(N, np.random.default_rng(1)), make_decision(N), None)
    assert len(Trace.load(d)) == N + 1


# ----------------------------------------------------------------- crashes
def torn(path: Path, cut: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - cut])


def test_torn_last_line(disk_trace) -> None:
    trace, _, d = disk_trace
    torn(d / "turns.jsonl", 10)  # mid-line: the last row is lost
    with pytest.warns(RuntimeWarning, match="torn"):
        loaded = Trace.load(d)
    assert loaded.rows == trace.rows[:-1]
    assert any("turns.jsonl" in note for note in loaded.recovery)
    n = len(loaded) * CHUNK_SAMPLES
    np.testing.assert_array_equal(loaded.input_audio(), trace.input_audio()[:n])
    assert len(loaded.output_audio()) == n


def test_pcm_cut_mid_turn(disk_trace) -> None:
    trace, _, d = disk_trace
    torn(d / "input.pcm", 2 * (2 * CHUNK_SAMPLES) + 100)  # 2 turns and a bit: 3 incomplete
    with pytest.warns(RuntimeWarning):
        loaded = Trace.load(d)
    assert loaded.rows == trace.rows[: N - 3]
    assert len(loaded.input_audio()) == len(loaded.output_audio()) == (N - 3) * CHUNK_SAMPLES


def test_frames_cut(disk_trace) -> None:
    trace, _, d = disk_trace
    torn(d / "frames.bin", 1)  # the last frame belongs to the last turn that has frames
    last_with_frames = max(r["seq"] for r in trace.rows if r["n_frames"])
    with pytest.warns(RuntimeWarning):
        loaded = Trace.load(d)
    assert len(loaded) == last_with_frames
    loaded.frames(last_with_frames - 1)  # the kept frames decode


def test_media_beyond_rows(disk_trace) -> None:
    trace, _, d = disk_trace
    for name in ("input.pcm", "output.pcm", "frames.bin"):
        with open(d / name, "ab") as f:
            f.write(b"\x01" * 5000)  # media written for a row that never made it
    with open(d / "spans.jsonl", "a") as f:
        f.write('{"op": "end", "id": 4, "en')  # a torn span record
    with pytest.warns(RuntimeWarning, match="beyond"):
        loaded = Trace.load(d)
    assert_same(trace, loaded)
    assert len(loaded.recovery) == 4  # 3 media files + the spans record


def test_garbled_line_in_the_middle_keeps_the_prefix(disk_trace) -> None:
    trace, _, d = disk_trace
    lines = (d / "turns.jsonl").read_text().splitlines(keepends=True)
    lines[5] = "{not json\n"
    (d / "turns.jsonl").write_text("".join(lines))
    with pytest.warns(RuntimeWarning):
        assert Trace.load(d).rows == trace.rows[:5]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[dict]]:
    d = tmp_path_factory.mktemp("pristine") / "run"
    trace = Trace(d)
    fill(trace, n=8)
    trace.close()
    return d, trace.rows


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(["turns.jsonl", "spans.jsonl", "input.pcm", "output.pcm", "frames.bin"]),
    keep=st.floats(0.0, 1.0),
)
def test_any_truncation_loads_a_prefix(pristine, tmp_path: Path, name: str, keep: float) -> None:
    src, rows = pristine
    d = tmp_path / f"cut-{time.perf_counter_ns()}"
    shutil.copytree(src, d)
    data = (d / name).read_bytes()
    (d / name).write_bytes(data[: int(len(data) * keep)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = Trace.load(d)
    assert loaded.rows == rows[: len(loaded)]
    assert len(loaded.input_audio()) == len(loaded.output_audio()) == len(loaded) * CHUNK_SAMPLES
    for r in loaded.rows:
        assert len(loaded.frames(r["seq"])) == r["n_frames"]


CHILD = textwrap.dedent("""
    import sys, numpy as np
    from nbduplex.decision import Decision
    from nbduplex.microturn import MicroTurn
    from nbduplex.trace import Trace
    trace = Trace(sys.argv[1])
    rng = np.random.default_rng(0)
    k = 0
    while True:
        frames = (rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),)
        turn = MicroTurn(k, rng.integers(-999, 999, 3200).astype(np.int16), frames=frames)
        trace.append(turn, Decision(), rng.integers(-9, 9, 3200).astype(np.int16))
        if k % 5 == 0:
            trace.add_span("tool_call", 0.2 * k, label="t")
        k += 1
""")


def test_killed_process_loads(tmp_path: Path) -> None:
    d = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(d)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            turns = d / "turns.jsonl"
            if turns.exists() and turns.read_bytes().count(b"\n") >= 30:
                break
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = Trace.load(d)
    assert len(loaded) >= 30
    assert [r["seq"] for r in loaded.rows] == list(range(len(loaded)))
    assert len(loaded.output_audio()) == len(loaded) * CHUNK_SAMPLES
    assert loaded.frames(len(loaded) - 1)[0].shape == (32, 32, 3)
    assert len(loaded.spans) >= 6


# ----------------------------------------------------------------- bad input
def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no trace directory"):
        Trace.load(tmp_path / "missing")
    with pytest.raises(TraceError, match="meta.json is missing"):
        Trace.load(tmp_path)
    (tmp_path / "meta.json").write_text("{garbled")
    with pytest.raises(TraceError, match="not valid JSON"):
        Trace.load(tmp_path)
    (tmp_path / "meta.json").write_text('{"format": "something-else"}')
    with pytest.raises(TraceError, match="does not describe"):
        Trace.load(tmp_path)
    (tmp_path / "meta.json").write_text('{"format": "nbduplex-trace", "version": 99}')
    with pytest.raises(TraceError, match="version"):
        Trace.load(tmp_path)
    (tmp_path / "meta.json").write_text('{"format": "nbduplex-trace", "version": 1}')
    with pytest.raises(TraceError, match="turns.jsonl is missing"):
        Trace.load(tmp_path)
    with pytest.raises(TraceError, match="not an empty directory"):
        Trace(tmp_path)


def test_append_errors() -> None:
    trace = Trace()
    silent = np.zeros(CHUNK_SAMPLES, np.int16)
    with pytest.raises(ValueError, match="audio must be int16"):
        trace.append(MicroTurn(0, np.zeros(100, np.int16)), Decision())
    with pytest.raises(ValueError, match="output audio must have shape"):
        trace.append(MicroTurn(0, silent), Decision(), np.zeros(10, np.int16))
    with pytest.raises(ValueError, match="frames must be"):
        trace.append(MicroTurn(0, silent, frames=(np.zeros((4, 4), np.uint8),)), Decision())
    with pytest.raises(ValueError, match="clash"):
        trace.append(MicroTurn(0, silent), Decision(), probs={})
    with pytest.raises(TypeError, match="cannot store"):
        trace.append(MicroTurn(0, silent), Decision(), thing=object())
    assert len(trace) == 0  # nothing half-recorded
    trace.append(MicroTurn(0, silent), Decision())
    for seq in (0, 2):  # duplicate, gap
        with pytest.raises(ValueError, match="does not follow"):
            trace.append(MicroTurn(seq, silent), Decision())
    with pytest.raises(KeyError):
        trace.frames(5)
    with pytest.raises(ValueError, match="jpeg_quality"):
        Trace(jpeg_quality=0)


def test_span_errors_and_closed_trace() -> None:
    trace = Trace()
    with pytest.raises(ValueError, match="kind"):
        trace.add_span("", 0.0)
    with pytest.raises(ValueError, match="finite"):
        trace.add_span("tool_call", math.nan)
    with pytest.raises(ValueError, match="before its start"):
        trace.add_span("tool_call", 2.0, 1.0)
    sid = trace.add_span("tool_call", 2.0)
    with pytest.raises(ValueError, match="before its start"):
        trace.end_span(sid, 1.0)
    with pytest.raises(ValueError, match="clash"):
        trace.add_span("tool_call", 2.0, id=3)
    with pytest.raises(KeyError):
        trace.end_span(99, 3.0)
    trace.close()
    trace.close()  # idempotent
    with pytest.raises(TraceError, match="read-only"):
        trace.add_span("tool_call", 1.0)
    with pytest.raises(TraceError, match="read-only"):
        trace.append(MicroTurn(0, np.zeros(CHUNK_SAMPLES, np.int16)), Decision())


def test_spans_from_threads(tmp_path: Path) -> None:
    trace = Trace(tmp_path / "t")

    def worker(i: int) -> None:
        for j in range(25):
            trace.end_span(trace.add_span("tool_call", j, track=f"w{i}"), j + 0.5, ok=True)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trace.close()
    loaded = Trace.load(tmp_path / "t")
    assert sorted(s["id"] for s in loaded.spans) == list(range(100))
    assert all(s["end"] is not None and s["ok"] for s in loaded.spans)


# ----------------------------------------------------------------- views
def test_to_pandas(disk_trace) -> None:
    trace, _, _ = disk_trace
    df = trace.to_pandas()
    assert len(df) == N
    must = ["seq", "t", "action", "speaking", "text", "step_ms", "level_db", "latency_ms", "flags"]
    assert set(must) <= set(df.columns)
    assert {f"p_{a}" for a in ACTIONS} <= set(df.columns)
    assert df["seq"].tolist() == list(range(N)) and df["speaking"].dtype == bool
    np.testing.assert_allclose(df[[f"p_{a}" for a in ACTIONS]].sum(axis=1), 1.0, atol=1e-5)
    assert df.loc[5, "flags"] == "late,padded" and df.loc[0, "flags"] == ""
    assert df.loc[3, "action"] == "respond" and df["t"].iloc[-1] == pytest.approx(0.2 * (N - 1))
    empty = Trace().to_pandas()
    assert len(empty) == 0 and {"seq", "t", "action", "p_listen"} <= set(empty.columns)


def test_spans_frame(disk_trace) -> None:
    trace, _, _ = disk_trace
    sf_ = trace.spans_frame()
    assert list(sf_.columns[:8]) == [
        "id",
        "kind",
        "track",
        "label",
        "start",
        "end",
        "duration",
        "open",
    ]
    row = sf_[sf_.label == "never finished"].iloc[0]
    assert row.open and row.end == pytest.approx(trace.end_time)
    assert sf_[sf_.label == "search"].iloc[0].parent == 0
    assert len(Trace().spans_frame()) == 0


def test_speech_spans(disk_trace) -> None:
    trace, _, _ = disk_trace
    assert trace.model_speech_spans() == [(pytest.approx(0.8), pytest.approx(1.6))]
    expected = [(0.6, 1.2), (1.8, 2.4)]  # (k // 3) odd: k = 3..5 and 9..11, from info["vad"]
    assert trace.user_speech_spans() == [tuple(pytest.approx(x) for x in s) for s in expected]
    level_only = Trace()
    rng = np.random.default_rng(0)
    for k in range(6):
        level_only.append(make_turn(k, rng, loud=k in (1, 2)), Decision(), None)
    assert level_only.user_speech_spans() == [(pytest.approx(0.2), pytest.approx(0.6))]
    level_only.add_span("user_speech", 0.1, 0.5)
    level_only.add_span("user_speech", 0.9)  # open: ends at the trace end
    assert level_only.user_speech_spans() == [(0.1, 0.5), (0.9, pytest.approx(1.2))]


def test_chrome_trace(disk_trace, tmp_path: Path) -> None:
    trace, _, _ = disk_trace
    path = trace.to_chrome_trace(tmp_path / "trace.json")
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    assert all({"ph", "pid", "name"} <= set(e) for e in events)
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    used = {e["tid"] for e in events if e["ph"] in "Xi"}
    assert used <= set(names)
    by_track: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for e in events:
        if e["ph"] == "X":
            assert isinstance(e["ts"], int) and isinstance(e["dur"], int) and e["dur"] >= 0
            by_track.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_track.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    turns = [e for e in events if e["ph"] == "X" and names[e["tid"]] == "micro-turns"]
    assert [e["name"] for e in turns] == [r["action"] for r in trace.rows]
    decisions = [e for e in events if e["ph"] == "i" and e.get("cat") == "decision"]
    assert len(decisions) == N and decisions[3]["args"]["text"] == "sure, here it is"
    counters = [e for e in events if e["ph"] == "C" and e["name"] == "probs"]
    assert len(counters) == N and set(counters[0]["args"]) == set(ACTIONS)
    tool_tids = {e["tid"] for e in events if e.get("cat", "").startswith("tool_call")}
    assert len(tool_tids) == 2  # the two overlapping tool calls got separate tracks
    assert {"user speech", "model speech", "agent_task", "tool_call #2"} <= set(names.values())
    assert chrome_events(Trace())  # an empty trace still exports


def test_wavs(disk_trace, tmp_path: Path) -> None:
    trace, _, _ = disk_trace
    out = trace.write_output_wav(tmp_path / "output.wav")
    inp = trace.write_input_wav(tmp_path / "input.wav")
    a_out, rate = sf.read(out, dtype="int16")
    a_in, _ = sf.read(inp, dtype="int16")
    assert rate == 16000 and a_out.ndim == 1 and sf.info(out).subtype == "PCM_16"
    assert len(a_out) == len(a_in) == N * CHUNK_SAMPLES
    np.testing.assert_array_equal(a_out, trace.output_audio())
    assert a_out[4 * CHUNK_SAMPLES] == 500 and a_out[8 * CHUNK_SAMPLES] == 0  # time-aligned


def test_events_jsonl(disk_trace, tmp_path: Path) -> None:
    trace, _, _ = disk_trace
    path = trace.write_events_jsonl(tmp_path / "events.jsonl")
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(events) == N and [e["seq"] for e in events] == list(range(N))
    types = {
        "seq": int,
        "t": float,
        "action": str,
        "speaking": bool,
        "text": str,
        "probs": dict,
        "step_ms": float,
    }
    for e in events:
        assert list(e)[: len(EVENT_KEYS)] == list(EVENT_KEYS)
        for key, typ in types.items():
            assert type(e[key]) is typ, key
        assert e["action"] in ACTIONS
    assert events[0]["t"] == 0.0 and events[9]["task"] == "look it up"
