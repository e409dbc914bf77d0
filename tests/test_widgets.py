"""Python side of the live widgets: messages with real binary buffers, the assembler, the
timeline encoding, playback spans and controls recorded in a real Trace, a real Session."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from traitlets import TraitError

from nbduplex.decision import ACTIONS, Action, Decision
from nbduplex.microturn import CHUNK_SAMPLES, Flag, MicroTurn
from nbduplex.widgets import (
    AgentTraceWidget,
    CaptureError,
    CaptureWidget,
    ControlsWidget,
    InspectorWidget,
    SpeakerWidget,
    TimelineWidget,
)
from nbduplex.widgets._assets import asset, asset_dir
from nbduplex.widgets.live import LiveSession
from nbduplex.widgets.speaker import playback_span, trace_span_writer
from nbduplex.widgets.timeline import encode_rows


def spy(widget):
    """Record what a widget sends (content, [bytes]) instead of publishing on a comm."""
    sent: list[tuple[dict, list[bytes]]] = []
    widget.send = lambda content, buffers=None: sent.append(
        (content, [bytes(b) for b in buffers or []])
    )
    return sent


def jpeg(w=160, h=120, colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, format="JPEG")
    return buf.getvalue()


def chunk_msg(seq: int, end_s: float, *, frame: bool = True):
    pcm = (np.sin(np.arange(CHUNK_SAMPLES) * 0.05 + seq) * 8000).astype(np.int16)
    meta = {"type": "chunk", "seq": seq, "t0": (end_s - 0.2) * 1000, "t1": end_s * 1000}
    meta |= {
        "level": -12.0,
        "audio": True,
        "frame": {"width": 160, "height": 120} if frame else None,
    }
    bufs = [memoryview(pcm.tobytes())] + ([memoryview(jpeg())] if frame else [])
    return meta, bufs, pcm


def turns_of(capture: CaptureWidget, n: int, timeout: float = 5.0) -> list[MicroTurn]:
    out, it, deadline = [], iter(capture.source()), time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out.append(next(it))
    return out


# -- assets -----------------------------------------------------------------------------------
def test_every_widget_module_is_found_and_guards_render():
    assert (asset_dir() / "capture.js").is_file()
    for name in ("capture", "speaker", "timeline", "inspector", "agent_trace", "controls"):
        js = asset(f"{name}.js")
        assert "export default" in js and "showError(ctx.el, e)" in js, name


# -- capture ------------------------------------------------------------------------------------
def test_capture_chunks_become_microturns_with_decoded_frames():
    cap = CaptureWidget()
    cap._on_custom_msg(cap, {"type": "start"}, [])
    now = time.time()
    pcms = []
    for seq in range(3):
        meta, bufs, pcm = chunk_msg(seq, now - 0.2 * (2 - seq))
        cap._on_custom_msg(cap, meta, bufs)
        pcms.append(pcm)
    cap._on_custom_msg(cap, {"type": "stop"}, [])
    turns = list(cap.source())
    assert [t.seq for t in turns] == [0, 1, 2]
    for t, pcm in zip(turns, pcms, strict=True):
        np.testing.assert_array_equal(t.audio, pcm)
        assert len(t.frames) == 1 and t.frames[0].shape == (120, 160, 3)
        assert t.frames[0][60, 80, 0] > 150  # the red test frame survived JPEG
        assert not t.flags
    assert turns[2].wall == pytest.approx(now, abs=1e-3)  # wall = browser time of chunk end
    assert cap.stats["received"] == 3 and cap.dropped == 0 and cap.late == 0


def test_capture_counts_gaps_late_and_ignores_malformed_messages():
    cap = CaptureWidget(late_after=0.5)
    cap._on_custom_msg(cap, {"type": "start"}, [])
    now = time.time()
    for seq in (0, 1, 4):  # 2 and 3 never arrive
        meta, bufs, _ = chunk_msg(seq, now, frame=False)
        cap._on_custom_msg(cap, meta, bufs)
    meta, bufs, _ = chunk_msg(5, now - 3.0, frame=False)  # a busy kernel delayed it 3 s
    cap._on_custom_msg(cap, meta, bufs)
    for bad_meta, bad_bufs in [
        ({"type": "chunk", "seq": 6, "audio": True}, [b"\x00\x01\x02"]),  # odd byte count
        ({"type": "chunk", "audio": True}, [b"\x00\x00"]),  # no seq
        ({"type": "chunk", "seq": -1, "audio": True}, [b"\x00\x00"]),
        ({"type": "chunk", "seq": 7, "audio": True}, []),  # no buffer
        ({"type": "nonsense"}, []),
        ("not a dict", []),
    ]:
        cap._on_custom_msg(cap, bad_meta, bad_bufs)
    s = cap.stats
    assert s["gaps"] == 2 and s["bad"] == 6 and cap.late == 1 and s["received"] == 4
    cap._on_custom_msg(cap, {"type": "stop"}, [])
    turns = list(cap.source())
    assert [t.seq for t in turns] == [0, 1, 2, 3, 4, 5]
    assert Flag.MISSING in turns[2].flags and Flag.MISSING in turns[3].flags
    assert cap.dropped == 2


def test_capture_video_only_chunk_is_flagged_missing_audio():
    cap = CaptureWidget(mode="video")
    meta = {"type": "chunk", "seq": 0, "t1": time.time() * 1000, "audio": False, "frame": {}}
    cap._on_custom_msg(cap, meta, [jpeg()])
    cap._on_custom_msg(cap, {"type": "stop"}, [])
    (turn,) = list(cap.source())
    assert Flag.MISSING in turn.flags and turn.frames[0].shape == (120, 160, 3)


@pytest.mark.parametrize(
    ("state", "words"), [("no_device", "no device"), ("error", "error"), ("denied", "denied")]
)
def test_capture_failures_raise_capture_error(state, words):
    cap = CaptureWidget()
    cap.error, cap.state = "NotFoundError: Requested device not found", state
    with pytest.raises(CaptureError, match=words):
        cap.raise_for_state()
    with pytest.raises(TraitError):
        CaptureWidget(mode="radio")
    with pytest.raises(TraitError):
        CaptureWidget(frame_every=0)


def test_capture_denied_raises_and_restart_gets_a_fresh_assembler():
    cap = CaptureWidget()
    cap.error = "NotAllowedError: Permission denied"
    cap.state = "denied"
    with pytest.raises(CaptureError, match="permission denied"):
        cap.source()
    with pytest.raises(CaptureError):
        cap.wait_live(0.2)
    cap.state = "idle"
    started = []
    cap.on_start(started.append)
    cap._on_custom_msg(cap, {"type": "start"}, [])
    first = cap.assembler
    meta, bufs, _ = chunk_msg(0, time.time())
    cap._on_custom_msg(cap, meta, bufs)
    cap._on_custom_msg(cap, {"type": "stop"}, [])
    cap._on_custom_msg(cap, {"type": "start"}, [])
    assert cap.assembler is not first and started == [cap, cap] and cap.received == 0


# -- speaker ------------------------------------------------------------------------------------
def test_speaker_sends_pcm_bytes_plays_only_speech_and_cuts_on_yield():
    sp = SpeakerWidget()
    sent = spy(sp)
    pcm = np.arange(CHUNK_SAMPLES, dtype=np.int16)
    sp.play(7, pcm)
    assert sent[0][0] == {"type": "pcm", "seq": 7, "rate": 16000}
    assert np.array_equal(np.frombuffer(sent[0][1][0], np.int16), pcm)
    turn = MicroTurn(8, np.zeros(CHUNK_SAMPLES, np.int16))
    sp.listener({}, turn, Decision(Action.LISTEN), np.zeros(CHUNK_SAMPLES, np.int16))
    assert len(sent) == 1  # silence is not sent
    sp.listener({}, turn, Decision(Action.YIELD), np.zeros(CHUNK_SAMPLES, np.int16))
    assert sent[-1][0] == {"type": "stop"}
    with pytest.raises(ValueError):
        sp.play(1, np.zeros((2, 3)))


def test_playback_spans_go_into_the_trace():
    from nbduplex.trace import Trace

    trace = Trace()
    sp = SpeakerWidget()
    sp.on_span(trace_span_writer(trace))
    t0 = time.time() * 1000
    sp._on_custom_msg(
        sp, {"type": "span", "start_seq": 5, "end_seq": 9, "start": t0, "end": t0 + 1000}, []
    )
    sp._on_custom_msg(
        sp,
        {"type": "span", "start_seq": 12, "end_seq": 20, "start": t0, "end": t0 + 300, "cut": True},
        [],
    )
    sp._on_custom_msg(sp, {"type": "span", "start_seq": 9, "end_seq": 2, "start": 0, "end": 0}, [])
    sp._on_custom_msg(sp, {"type": "span"}, [])
    spans = [s for s in trace.spans if s["kind"] == "playback"]
    assert len(spans) == 2 == len(sp.spans)
    assert spans[0]["start"] == pytest.approx(1.0) and spans[0]["end"] == pytest.approx(2.0)
    assert spans[1]["cut"] and spans[1]["end"] == pytest.approx(2.4 + 0.3)
    with pytest.raises(ValueError):
        playback_span({"start_seq": -1, "end_seq": 0, "start": 0, "end": 0})


# -- timeline -----------------------------------------------------------------------------------
def make_rows(n: int, start: int = 0, rng=None) -> list[dict]:
    rng = rng or np.random.default_rng(0)
    rows = []
    for i in range(start, start + n):
        a = ACTIONS[int(rng.integers(len(ACTIONS)))]
        p = rng.dirichlet(np.ones(len(ACTIONS)))
        rows.append(
            {
                "seq": i,
                "t": i * 0.2,
                "level_db": float(rng.uniform(-90, 0)),
                "action": a,
                "probs": dict(zip(ACTIONS, p.tolist(), strict=True)),
                "speaking": bool(i % 3 == 0),
                "user_text": "hi" if i % 7 == 0 else "",
                "text": "okay" if a == "respond" else "",
                "step_ms": 0.5,
                "flags": ["missing"] if i % 11 == 0 else [],
            }
        )
    return rows


def decode(meta: dict, bufs: list[bytes]):
    n, a = meta["n"], len(meta["actions"])
    level = np.frombuffer(bufs[0], np.float32)
    action = np.frombuffer(bufs[1], np.uint8)
    speaking = np.frombuffer(bufs[2], np.uint8)
    probs = np.frombuffer(bufs[3], np.float32).reshape(n, a)
    assert len(level) == len(action) == len(speaking) == n
    assert len(np.frombuffer(bufs[4], np.float32)) == n and len(bufs[5]) == n
    return level, action, speaking, probs, np.frombuffer(bufs[5], np.uint8)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 40), st.integers(0, 10_000), st.integers(0, 2**32 - 1))
def test_encode_rows_round_trips(n, start, seed):
    rows = make_rows(n, start, np.random.default_rng(seed))
    meta, bufs = encode_rows(rows, start)
    assert meta["start"] == start and meta["n"] == n and meta["actions"] == list(ACTIONS)
    level, action, speaking, probs, flags = decode(meta, bufs)
    for i, r in enumerate(rows):
        assert level[i] == pytest.approx(r["level_db"], abs=1e-4)
        assert ACTIONS[action[i]] == r["action"] and speaking[i] == r["speaking"]
        assert probs[i] == pytest.approx([r["probs"][a] for a in ACTIONS], abs=1e-6)
        assert bool(flags[i] & 4) == bool(r["flags"])
        assert (str(r["seq"]) in meta["texts"]) == bool(r["user_text"] or r["text"])


def test_encode_rows_shows_typed_text_and_heard_instructions_as_user_text():
    rows = make_rows(4)
    for r in rows:
        r["user_text"], r["text"] = "", ""
    rows[0]["user_text"] = "say go in 5 seconds"
    rows[1]["info"] = {"heard_instruction": "say tick every 3 seconds"}
    rows[2]["info"] = {"cue_heard": "banana", "p_cue": 0.97}
    meta, bufs = encode_rows(rows)
    assert meta["texts"] == {"0": ["say go in 5 seconds", ""],
                             "1": ["heard: say tick every 3 seconds", ""],
                             "2": ["heard cue: banana", ""]}  # fmt: skip
    assert [bool(f & 1) for f in decode(meta, bufs)[-1]] == [True, True, True, False]
    tl = TimelineWidget()  # the widget keeps what the notes need when it compacts rows
    sent = spy(tl)
    tl.extend(rows)
    tl._on_custom_msg(tl, {"type": "ready"}, [])
    assert [m["texts"] for m, _ in sent if m["type"] == "turns"] == [meta["texts"]]


def test_encode_rows_rejects_gaps_and_handles_nan_levels():
    rows = make_rows(3)
    rows[1]["level_db"] = float("nan")
    rows[0]["info"], rows[1]["info"], rows[2]["info"] = {"vad": 0.9}, {"vad": "?"}, {"vad": 0.1}
    level, *_, flags = decode(*encode_rows(rows))
    assert level[1] == -100.0
    assert [bool(f & 16) for f in flags] == [True, False, False]  # user speech per the VAD
    with pytest.raises(ValueError, match="consecutive"):
        encode_rows([rows[0], rows[2]])


def test_timeline_queues_until_ready_then_streams_and_selects():
    tl = TimelineWidget()
    sent = spy(tl)
    tl.extend(make_rows(3000))
    tl.set_spans([{"kind": "user_speech", "start": 0.0, "end": 1.0, "label": "hi"}])
    assert sent == []  # nothing before the front end is ready
    tl._on_custom_msg(tl, {"type": "ready"}, [])
    turns = [m for m, _ in sent if m["type"] == "turns"]
    assert sum(m["n"] for m in turns) == 3000
    assert [m for m, _ in sent if m["type"] == "spans"][0]["spans"][0]["label"] == "hi"
    sent.clear()
    tl.append(make_rows(1, 3000)[0])
    assert sent[0][0]["start"] == 3000 and sent[0][0]["n"] == 1
    with pytest.raises(ValueError):
        tl.append(make_rows(1, 5000)[0])
    picked = []
    tl.on_select(picked.append)
    tl._on_custom_msg(tl, {"type": "select", "seq": 42}, [])
    tl._on_custom_msg(tl, {"type": "select", "seq": "x"}, [])
    tl._on_custom_msg(tl, {"type": "perf", "tag": "live", "p50": 0.4, "p95": 1.2, "n": 60}, [])
    assert picked == [42] and tl.perf["p95"] == 1.2


def test_agent_trace_sends_only_on_change():
    ag = AgentTraceWidget()
    sent = spy(ag)
    spans = [
        {"id": 0, "kind": "agent_task", "start": 1.0, "end": 3.0, "label": "look up"},
        {"id": 1, "kind": "user_speech", "start": 0.0, "end": 1.0},
    ]
    assert ag.update(spans, 4.0) and not ag.update(spans, 4.2)
    assert [s["kind"] for s in sent[0][0]["spans"]] == ["agent_task"]


# -- controls, inspector and the whole live wiring with a real Session --------------------------
def speech_chunks(text: str = "hello there how are you", silence_s: float = 1.6):
    from nbduplex.tts import synthesize

    audio = synthesize(text).audio
    audio = np.concatenate(
        [np.zeros(3200, np.int16), audio, np.zeros(int(silence_s * 16000), np.int16)]
    )
    n = len(audio) // CHUNK_SAMPLES
    return [audio[i * CHUNK_SAMPLES : (i + 1) * CHUNK_SAMPLES] for i in range(n)]


def test_live_session_end_to_end_without_a_browser():
    lv = LiveSession("openai-server-vad", mode="both", echo_cancellation=False)
    sent = spy(lv.speaker)
    spy(lv.timeline)
    lv.timeline._on_custom_msg(lv.timeline, {"type": "ready"}, [])
    lv.capture._on_custom_msg(lv.capture, {"type": "start"}, [])
    chunks = speech_chunks()
    now = time.time()
    for seq, pcm in enumerate(chunks):
        meta = {
            "type": "chunk",
            "seq": seq,
            "t1": (now + 0.2 * seq) * 1000,
            "audio": True,
            "frame": {"width": 64, "height": 48} if seq % 2 == 0 else None,
        }
        bufs = [pcm.tobytes()] + ([jpeg(64, 48)] if seq % 2 == 0 else [])
        lv.capture._on_custom_msg(lv.capture, meta, bufs)
    lv.controls.eagerness = 0.9
    lv.capture._on_custom_msg(lv.capture, {"type": "stop"}, [])
    trace = lv.session.wait(20)
    assert not lv.running and len(trace) == len(chunks)
    actions = {r["action"] for r in trace.rows}
    assert "respond" in actions, actions
    assert any(m["type"] == "pcm" for m, _ in sent)  # the reply was sent to the speaker
    assert lv.policy.eagerness == 0.9
    settings_ = [s for s in trace.spans if s["kind"] == "setting"]
    assert any(s.get("name") == "eagerness" and s.get("value") == 0.9 for s in settings_)
    assert len(lv.timeline.rows) == len(chunks)
    insp = InspectorWidget()
    shown = spy(insp)
    meta = insp.show(2, trace)
    assert meta["dmel"] == [16, 80] and meta["frame"]
    codes = np.frombuffer(shown[0][1][0], np.uint8)
    assert codes.size == 16 * 80 and codes.max() <= 15
    assert Image.open(io.BytesIO(shown[0][1][1])).size == (64, 48)
    with pytest.raises(KeyError):
        insp.show(10_000, trace)
    stats = lv.stats()
    assert stats["turns"] == len(chunks) and stats["capture"]["received"] == len(chunks)


def test_controls_apply_to_a_bare_policy_then_a_session():
    from nbduplex.policies import make_preset

    policy = make_preset("energy-vad", eagerness=0.7)
    ctl = ControlsWidget(policy)
    assert ctl.eagerness == 0.7
    ctl.do_not_interrupt = True
    assert policy.do_not_interrupt is True
    with pytest.raises(TraitError):
        ctl.eagerness = 1.5


def test_replay_of_a_saved_trace_fills_the_same_widgets(tmp_path):
    from nbduplex.session import Session
    from nbduplex.sources import ArraySource
    from nbduplex.trace import Trace
    from nbduplex.widgets import replay

    audio = np.concatenate(speech_chunks("good morning to you", 1.2))
    frames = np.zeros((len(audio) // CHUNK_SAMPLES, 48, 64, 3), np.uint8)
    session = Session(ArraySource(audio, frames=frames), "energy-vad", trace=Trace(tmp_path / "t"))
    trace = session.run()
    view = replay(tmp_path / "t", display=False)
    assert len(view.timeline.rows) == len(trace) and view.timeline.follow is False
    sent = spy(view.timeline)
    view.timeline._on_custom_msg(view.timeline, {"type": "ready"}, [])
    (turns,) = [m for m, _ in sent if m["type"] == "turns"]
    assert turns["n"] == len(trace)
    shown = spy(view.inspector)
    view.timeline._on_custom_msg(view.timeline, {"type": "select", "seq": 3}, [])
    assert shown[0][0]["seq"] == 3 and shown[0][0]["frame"]
    assert view.inspector.seq == 3


def test_live_with_a_default_agent_shows_the_agent_gantt():
    lv = LiveSession("energy-vad", agent=True)
    assert lv.agent is not None and lv.agent_trace in lv.widget.children
    assert lv.trace is None and not lv.running and "energy-vad" in repr(lv)
