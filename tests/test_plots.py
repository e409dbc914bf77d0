"""Static matplotlib twins: timeline, decisions, agent Gantt."""

from __future__ import annotations

import io
import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from nbduplex.decision import ACTIONS, Decision
from nbduplex.microturn import CHUNK_SAMPLES, MicroTurn
from nbduplex.plots import ACTION_COLORS, plot_agent_trace, plot_decisions, plot_timeline
from nbduplex.trace import Trace

PNG = b"\x89PNG\r\n\x1a\n"


def build(n: int, seed: int = 0, agent: bool = True) -> Trace:
    """A trace of n micro-turns: user talks 4 s / pauses 4 s, decisions vary, model replies."""
    rng = np.random.default_rng(seed)
    trace = Trace(meta={"policy": "test"})
    noise = rng.normal(0, 1, (64, CHUNK_SAMPLES))
    for k in range(n):
        talking = (k // 20) % 2 == 0
        audio = (noise[k % 64] * (3000 if talking else 20)).astype(np.int16)
        p = rng.dirichlet(np.full(len(ACTIONS), 0.3))
        action = ACTIONS[int(p.argmax())] if k % 9 == 0 else "listen"
        text = "okay" if action == "respond" else ""
        out = np.full(CHUNK_SAMPLES, 300 if (k % 40) in range(22, 30) else 0, np.int16)
        decision = Decision(action, probs=dict(zip(ACTIONS, p, strict=True)), text=text)
        trace.append(MicroTurn(k, audio), decision, out)
    if agent:
        for i, t in enumerate(np.arange(2.0, n * 0.2, 30.0)):
            task = trace.add_span("agent_task", t, t + 6.0, label=f"task {i}")
            trace.add_span("tool_call", t + 0.5, t + 2.0, label="search", parent=task)
            trace.add_span("tool_call", t + 1.0, t + 3.0, label="calc", parent=task)
        trace.add_span("agent_task", n * 0.2 - 1.0, label="still running")
    return trace


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


def n_artists(fig: Figure) -> int:
    return sum(len(ax.get_children()) for ax in fig.axes)


@pytest.fixture(scope="module")
def trace() -> Trace:
    return build(200)


def test_backend_is_headless() -> None:
    assert matplotlib.get_backend().lower() in {"agg", "module://matplotlib_inline.backend_inline"}


def test_timeline(trace: Trace, tmp_path: Path) -> None:
    labels = {"turn_ends": [4.0, {"t": 12.0}], "pauses": [[1.0, 1.6], {"start": 9, "end": 9.5}]}
    fig = plot_timeline(trace, labels=labels)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5  # the five lanes, top to bottom
    user, model, action, probs, agent = fig.axes
    assert user.get_xlim() == pytest.approx((0.0, 40.0))
    assert len(action.images) == 1 and action.images[0].get_array().shape == (1, 200)
    legend = [t.get_text() for t in user.get_legend().get_texts()]
    assert legend == list(ACTIONS)
    assert [t.get_text().strip() for t in agent.texts][:3] == ["task 0", "search", "calc"]
    assert any(t.get_text().strip() == "okay" for t in model.texts)
    fig.savefig(tmp_path / "timeline.png", dpi=80)
    assert (tmp_path / "timeline.png").read_bytes().startswith(PNG)


def test_timeline_window_and_given_axes(trace: Trace) -> None:
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_timeline(trace, start=5.0, end=15.0, ax=ax) is fig
    assert len(fig.axes) == 6 and not fig.axes[0].axison  # the given axes is hidden
    assert fig.axes[1].get_xlim() == pytest.approx((5.0, 15.0))
    assert fig.axes[3].images[0].get_array().shape == (1, 50)  # only the window's micro-turns
    assert png(fig).startswith(PNG)
    with pytest.raises(ValueError, match="after start"):
        plot_timeline(trace, start=10.0, end=5.0)


def test_empty_trace_plots() -> None:
    empty = Trace()
    for fig in (plot_timeline(empty), plot_decisions(empty), plot_agent_trace(empty)):
        assert png(fig).startswith(PNG)
    texts = [t.get_text() for ax in plot_agent_trace(empty).axes for t in ax.texts]
    assert texts == ["no agent tasks or tool calls in this trace"]


def test_decisions(trace: Trace) -> None:
    fig = plot_decisions(trace, start=0, end=20, labels={"turn_ends": [4.0]})
    (ax,) = fig.axes
    marks = ax.collections[0].get_offsets()  # the chosen non-listen decisions
    chosen = [r for r in trace.rows if r["action"] != "listen" and r["t"] < 20]
    assert len(marks) == len(chosen) > 0
    np.testing.assert_allclose(marks[:, 1], [r["probs"][r["action"]] for r in chosen])
    assert len(ax.images) == 1  # the chosen-action strip
    assert png(fig).startswith(PNG)


def test_agent_trace_gantt(trace: Trace) -> None:
    fig = plot_agent_trace(trace)
    (ax,) = fig.axes
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names[:3] == ["task 0", "  ↳ search", "  ↳ calc"]
    assert names[-1] == "still running"
    bars = ax.patches
    assert len(bars) == len(names) and bars[-1].get_hatch() == "//"  # the open span
    assert png(fig).startswith(PNG)


def test_colours_cover_every_action() -> None:
    assert set(ACTION_COLORS) == set(ACTIONS)


def test_large_trace_is_fast_and_uses_few_artists(tmp_path: Path) -> None:
    big = build(3000, seed=1)  # a 10-minute session
    t0 = time.perf_counter()
    figs = [plot_timeline(big), plot_decisions(big), plot_agent_trace(big)]
    for i, fig in enumerate(figs):
        fig.savefig(tmp_path / f"big{i}.png", dpi=80)
    elapsed = time.perf_counter() - t0
    assert elapsed < 15.0, f"3000 micro-turns took {elapsed:.1f} s to plot"
    assert n_artists(figs[0]) < 300 and n_artists(figs[1]) < 100  # not one artist per turn


def test_timeline_shows_typed_and_heard_instructions_and_cues() -> None:
    from nbduplex.microturn import TextEvent

    trace = Trace(meta={"policy": "test"})
    silence = np.zeros(CHUNK_SAMPLES, np.int16)
    for k in range(20):
        text = (TextEvent("user", "say go in 3 seconds"),) if k == 2 else ()
        info = {"heard_instruction": "say tick every 2 seconds"} if k == 9 else {}
        info = {"cue_heard": "rocket"} if k == 14 else info
        trace.append(MicroTurn(k, silence, text=text), Decision("listen", info=info), silence)
    user = plot_timeline(trace).axes[0]
    labels = {t.get_text().strip(): t.get_position()[0] for t in user.texts}
    assert labels == pytest.approx({"typed: say go in 3 seconds": 0.4,
                                    "heard: say tick every 2 seconds": 1.8,
                                    "heard cue: rocket": 2.8})  # fmt: skip


def test_timeline_hatches_answers_held_in_pauses() -> None:
    from nbduplex.plots.timeline import HELD_LABEL

    trace = Trace(meta={"policy": "test"})
    silence = np.zeros(CHUNK_SAMPLES, np.int16)
    for k in range(10):
        info = {"held_in_pause": True, "p_turn_end": 0.2} if k in (4, 5) else {}
        trace.append(MicroTurn(k, silence), Decision("listen", info=info), silence)
    fig = plot_timeline(trace)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert HELD_LABEL in legend
    action = fig.axes[2]
    hatched = [c for c in action.collections if c.get_hatch() == "////"]
    assert len(hatched) == 1 and len(hatched[0].get_paths()) == 2
    plain = Trace(meta={"policy": "test"})
    plain.append(MicroTurn(0, silence), Decision("listen"), silence)
    assert HELD_LABEL not in [
        t.get_text() for t in plot_timeline(plain).axes[0].get_legend().get_texts()
    ]


def test_timeline_marks_actions_set_by_a_listener() -> None:
    from nbduplex.plots.timeline import LISTENER_LABEL

    trace = Trace(meta={"policy": "test"})
    silence = np.zeros(CHUNK_SAMPLES, np.int16)
    infos = {2: {"words_from": "cue", "cue_heard": "banana"}, 5: {"pending_answer": True},
             7: {"words_from": "decoder"}, 9: {"answered_silence": True}}  # fmt: skip
    for k in range(12):
        act = {2: "interject", 5: "respond", 7: "respond", 9: "respond"}.get(k, "listen")
        trace.append(MicroTurn(k, silence), Decision(act, info=infos.get(k, {})), silence)
    fig = plot_timeline(trace)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert LISTENER_LABEL in legend
    marks = [ln for ln in fig.axes[2].lines if ln.get_marker() == "v"]
    assert len(marks) == 1
    # the cue, the held answer and the answered silence
    assert list(marks[0].get_xdata()) == pytest.approx([0.5, 1.1, 1.9])


def test_timeline_shows_the_words_of_back_to_back_utterances() -> None:
    """An answer that cuts the acknowledgement short 0.6 s in: both sets of words are shown
    (the second on a second row), and a third, far later, back on the first."""
    trace = Trace(meta={"policy": "test"})
    silence = np.zeros(CHUNK_SAMPLES, np.int16)
    said = {3: ("delegate", "Let me check that."), 6: ("respond", "740 - 706 = 34"),
            30: ("respond", "Anything else?")}  # fmt: skip
    for k in range(40):
        action, text = said.get(k, ("listen", ""))
        trace.append(MicroTurn(k, silence), Decision(action, text=text), silence)
    model = plot_timeline(trace).axes[1]
    rows = {t.get_text().strip(): t.get_position() for t in model.texts}
    assert set(rows) == {"Let me check that.", "740 - 706 = 34", "Anything else?"}
    assert rows["740 - 706 = 34"][1] < rows["Let me check that."][1]  # the second row
    assert rows["Anything else?"][1] == rows["Let me check that."][1]
