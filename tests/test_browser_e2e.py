"""End to end in a real browser: JupyterLab + Debian Chromium (Playwright) with a fake camera
(y4m) and an espeak-ng microphone (wav). The capture widget streams, the cascade decides and
answers, the speaker plays it (playback spans come back), the timeline draws the decisions;
also a denied permission and a kernel busy in `time.sleep` while capturing."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the helper module beside this file
from browser_lab import (  # noqa: E402
    Lab,
    launch,
    missing_requirements,
    open_notebook,
    read_json,
    run_cell,
    status_cell,
    wait_json,
    write_media,
    write_notebook,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(missing_requirements() is not None, reason=str(missing_requirements())),
]

ARTIFACTS = Path(
    os.environ.get("NBDUPLEX_ARTIFACTS", Path(__file__).parent.parent / "out" / "test-artifacts")
)

LIVE_STATUS = """{
    "stats": lv.stats(),
    "arrivals": list(lv.capture.arrivals),
    "state": lv.capture.state,
    "respond_seqs": [
        r["seq"] for r in (lv.trace.rows if lv.trace else []) if r["action"] == "respond"
    ],
    "inspected": lv.inspector.seq,
    "sessions": len(lv.sessions),
    "n_frames": [r["n_frames"] for r in (lv.trace.rows if lv.trace else [])],
    "cut_spans": [s for s in lv.speaker.spans if s["cut"]],
}"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    wav, y4m = write_media(root)
    live_nb = [
        "import time, nbduplex\n"
        "lv = nbduplex.live(policy='openai-server-vad', echo_cancellation=False)\n"
        + status_cell(LIVE_STATUS, root / "live.json"),
        "time.sleep(3)  # a busy kernel while capturing",
        "lv.capture.mode = 'audio'",
        "import numpy as np\n"
        "tone = (np.sin(np.arange(3200) * 0.1) * 3000).astype(np.int16)\n"
        "for k in range(10):\n    lv.speaker.play(1000 + k, tone)\n"
        "time.sleep(0.6)\nlv.speaker.stop()",
        "from nbduplex.widgets import AgentTraceWidget\n"
        "ag = AgentTraceWidget()\ndisplay(ag)\n"
        "ag.update([dict(id=0, kind='agent_task', start=0.5, end=2.0, label='search docs'),\n"
        "           dict(id=1, kind='tool_call', start=0.7, end=None, label='calculator')], 2.5)",
    ]
    write_notebook(root / "live.ipynb", live_nb)
    denied_nb = [
        "from IPython.display import display\n"
        "from nbduplex.widgets import CaptureWidget\n"
        "cap = CaptureWidget()\ndisplay(cap)\n"
        + status_cell("{'state': cap.state, 'error': cap.error}", root / "denied.json"),
    ]
    write_notebook(root / "denied.ipynb", denied_nb)
    server = Lab(root).start()
    yield server, root, wav, y4m
    server.stop()


@pytest.fixture(scope="module")
def pw():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def test_live_capture_decides_speaks_and_draws(lab, pw):
    server, root, wav, y4m = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = launch(pw, root / "profile-live", wav, y4m)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_notebook(page, server.url("live.ipynb"))
        run_cell(page, 0)
        start = page.locator(".nbd-capture button.nbd-start")
        start.wait_for(timeout=30_000)
        start.click()
        page.wait_for_selector(".nbd-capture[data-state=live]", timeout=15_000)
        page.wait_for_selector(".nbd-capture.is-live .live", state="visible")
        wait_json(root / "live.json", lambda s: len(s["arrivals"]) >= 15, timeout=20)
        t_busy = time.time()
        run_cell(page, 1, wait=False)  # kernel sleeps 3 s while chunks keep coming
        time.sleep(4.0)
        status = wait_json(
            root / "live.json",
            lambda s: len(s["arrivals"]) >= 35 and s["stats"]["playback_spans"],
            timeout=25,
        )
        page.screenshot(path=str(ARTIFACTS / "live.png"), full_page=True)

        # chunks: contiguous seqs at 5/s, none dropped, also across the busy cell
        arr = status["arrivals"]
        seqs = [a[0] for a in arr]
        assert seqs == list(range(len(seqs))), "gaps or reordering in the chunk stream"
        rate = (len(arr) - 1) / (arr[-1][1] - arr[0][1])
        assert 4.7 <= rate <= 5.3, rate
        cap = status["stats"]["capture"]
        assert cap["dropped"] == 0 and cap["gaps"] == 0 and cap["bad"] == 0, cap
        during_busy = [a for a in arr if t_busy + 0.5 < a[1] < t_busy + 2.5]
        assert len(during_busy) >= 8  # captured while the kernel slept, none lost

        # the cascade decided and answered; the speaker played it and reported back
        st = status["stats"]
        assert st["turns"] >= 30 and st["error"] is None, st
        assert st["actions"].get("respond", 0) >= 1, st["actions"]
        assert st["speaker_sent"] >= 1 and st["speaking_turns"] >= 1
        span = st["playback_spans"][0]
        assert span["end"] > span["start"] and span["start_seq"] >= 1

        # the timeline really drew the micro-turns and the decisions
        tl = page.locator(".nbd-timeline")
        assert int(tl.get_attribute("data-total")) >= 30
        assert int(tl.get_attribute("data-drawn")) >= 20
        assert '"respond"' in tl.get_attribute("data-actions")
        sp = page.locator(".nbd-speaker")
        assert int(sp.get_attribute("data-played")) >= 1

        # the do-not-interrupt switch is applied live and recorded as a "setting" span
        page.locator(".nbd-controls input[type=checkbox]").check()
        dni = wait_json(root / "live.json", lambda s: s["stats"]["settings"], timeout=10)
        assert dni["stats"]["settings"][-1]["label"] == "do_not_interrupt=True"

        # hover, then click a micro-turn with a decision -> the inspector shows it
        seq = status["respond_seqs"][0]
        x0, pps, gut = (float(tl.get_attribute(f"data-{k}")) for k in ("x0", "pps", "gutter"))
        canvas = page.locator(".nbd-timeline canvas")
        canvas.scroll_into_view_if_needed()
        where = {"x": gut + ((seq + 0.5) * 0.2 - x0) * pps, "y": 100}
        canvas.hover(position=where)
        assert f"#{seq} " in page.locator(".nbd-timeline > div").last.inner_text()
        canvas.click(position=where)
        pps_before = float(tl.get_attribute("data-pps"))
        page.mouse.wheel(0, -400)  # zoom in around the pointer
        page.wait_for_function(
            "(p) => +document.querySelector('.nbd-timeline').dataset.pps > p * 1.5", arg=pps_before
        )
        page.wait_for_selector(f".nbd-inspector[data-seq='{seq}']", timeout=10_000)
        assert "respond" in page.locator(".nbd-inspector").inner_text()
        wait_json(root / "live.json", lambda s: s["inspected"] == seq, timeout=5)
        page.screenshot(path=str(ARTIFACTS / "live-inspector.png"), full_page=True)

        start.click()  # Stop: the session ends, its trace stays usable
        page.wait_for_selector(".nbd-capture[data-state=stopped]", timeout=10_000)
        done = wait_json(root / "live.json", lambda s: not s["stats"]["running"], timeout=15)
        assert min(done["n_frames"]) == 1  # one camera frame per micro-turn

        # Start again in audio-only mode: a fresh session, no camera frames
        run_cell(page, 2)
        start.click()
        page.wait_for_selector(".nbd-capture[data-state=live]", timeout=15_000)
        again = wait_json(
            root / "live.json", lambda s: s["sessions"] == 2 and s["stats"]["turns"] >= 5, 15
        )
        assert max(again["n_frames"]) == 0 and again["arrivals"][0][0] == 0
        start.click()

        # a stop message cuts the model's voice at once and the cut span comes back
        cuts = int(page.locator(".nbd-speaker").get_attribute("data-cuts"))
        run_cell(page, 3)
        page.wait_for_selector(f".nbd-speaker[data-cuts='{cuts + 1}']", timeout=10_000)
        tone = lambda s: [c for c in s["cut_spans"] if c["start_seq"] == 1000]  # noqa: E731
        (cut,) = tone(wait_json(root / "live.json", tone, timeout=10))
        assert cut["end_seq"] < 1009
        assert cut["wall_end"] - cut["wall_start"] < 1.5  # 2 s were queued, about 0.6 s played

        # the agent Gantt draws a finished task and a running tool call
        run_cell(page, 4)
        gantt = page.locator(".nbd-agent-trace[data-spans='2']")
        gantt.wait_for(timeout=10_000)
        assert (
            gantt.get_attribute("data-running") == "1" and gantt.get_attribute("data-rows") == "2"
        )
        gantt.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "live-end.png"), full_page=True)
        assert not errors, errors
    finally:
        ctx.close()


RESAMPLE_JS = """async ([src, rate]) => {
    const m = await import(URL.createObjectURL(new Blob([src], {type: "text/javascript"})));
    const ctx = new OfflineAudioContext(1, rate, rate);  // one second at the device rate
    const code = URL.createObjectURL(new Blob([m.WORKLET], {type: "application/javascript"}));
    await ctx.audioWorklet.addModule(code);
    const node = new AudioWorkletNode(ctx, "nbd-chunker",
                                      {processorOptions: {chunk: 3200, rate: 16000}});
    const chunks = [];
    node.port.onmessage = (e) => chunks.push(Array.from(new Int16Array(e.data)));
    const osc = ctx.createOscillator();
    osc.frequency.value = 440;
    osc.connect(node);
    node.connect(ctx.destination);
    osc.start();
    await ctx.startRendering();
    await new Promise((r) => setTimeout(r, 300));
    return chunks;
}"""


def check_worklet_resamples(page):
    """The capture worklet turns 48 kHz (or 44.1 kHz) input into 16 kHz 3200-sample chunks."""
    from nbduplex.widgets._assets import asset

    for rate in (48000, 44100):
        chunks = page.evaluate(RESAMPLE_JS, [asset("capture.js"), rate])
        assert len(chunks) == 5 and all(len(c) == 3200 for c in chunks), (rate, len(chunks))
        x = np.concatenate([np.asarray(c, float) for c in chunks])[1000:]
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        peak_hz = np.argmax(spectrum) * 16000 / len(x)
        assert abs(peak_hz - 440) < 5, (rate, peak_hz)
        assert 0.5 < np.abs(x).max() / 32768 <= 1.0


def test_denied_permission_is_shown_and_reported(lab, pw):
    server, root, _, _ = lab
    ctx = launch(pw, root / "profile-denied", None, None, fake_ui=False)
    try:
        page = ctx.new_page()
        open_notebook(page, server.url("denied.ipynb"))
        run_cell(page, 0)
        page.locator(".nbd-capture button.nbd-start").click()
        page.wait_for_selector(".nbd-capture[data-state=denied]", timeout=15_000)
        msg = page.locator(".nbd-capture .msg.err").inner_text()
        assert "Permission denied" in msg
        status = wait_json(root / "denied.json", lambda s: s["state"] == "denied", timeout=10)
        assert "NotAllowedError" in status["error"]
        page.screenshot(path=str(ARTIFACTS / "denied.png"))
        assert read_json(root / "denied.json")["state"] == "denied"
        check_worklet_resamples(page)
    finally:
        ctx.close()
