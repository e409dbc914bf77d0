"""The `nbduplex` command line contract: outputs, events.jsonl schema, one-line errors."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from nbduplex.cli import main
from nbduplex.decision import ACTIONS
from nbduplex.tts import available, synthesize


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    """Two user turns from espeak-ng at 22.05 kHz stereo: the CLI must convert it."""
    d = tmp_path_factory.mktemp("in")
    a = synthesize("Hello there. Could you tell me something about the weather today?").audio
    b = synthesize("Thanks, that is all I wanted to know.", voice="en-gb").audio
    gap = np.zeros(int(2.0 * 16000), np.int16)
    x = np.concatenate([gap[:8000], a, gap, b, gap]).astype(np.float32) / 32768
    import soxr

    x = soxr.resample(x, 16000, 22050)
    path = d / "talk.wav"
    sf.write(path, np.stack([x, x], axis=1), 22050)
    return path


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nbduplex", *map(str, args)], capture_output=True, text=True
    )


def test_run_writes_events_output_and_trace(speech_wav, tmp_path):
    out = tmp_path / "out"
    rc = main(
        [
            "run",
            "--audio",
            str(speech_wav),
            "--text",
            "1.0:hello",
            "--policy",
            "openai-server-vad",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    info = sf.info(out / "output.wav")
    duration = sf.info(speech_wav).duration
    assert len(events) == int(np.ceil(duration / 0.2 - 1e-9))
    assert info.samplerate == 16000 and info.frames == len(events) * 3200
    for k, e in enumerate(events):
        assert e["seq"] == k and e["t"] == pytest.approx(0.2 * k)
        assert e["action"] in ACTIONS and isinstance(e["speaking"], bool)
        assert isinstance(e["text"], str) and isinstance(e["step_ms"], float)
        assert set(e["probs"]) >= set(ACTIONS)
    responds = [e for e in events if e["action"] == "respond"]
    assert len(responds) >= 2 and all(e["text"] for e in responds)
    # speech started at micro-turn k is audible from k + 1 in output.wav
    k = responds[0]["seq"]
    out_audio, _ = sf.read(out / "output.wav", dtype="int16")
    assert not events[k]["speaking"] and events[k + 1]["speaking"]
    assert np.any(out_audio[(k + 1) * 3200 : (k + 2) * 3200])
    assert (out / "trace" / "meta.json").exists()


def test_run_refuses_to_overwrite_without_flag(speech_wav, tmp_path):
    args = ["run", "--audio", str(speech_wav), "--policy", "energy-vad", "--out", str(tmp_path)]
    assert main(args) == 0
    assert main(args) == 2
    assert main([*args, "--overwrite"]) == 0


def test_user_policy_module_attr(speech_wav, tmp_path, monkeypatch):
    (tmp_path / "mypolicy.py").write_text(
        textwrap.dedent("""
        from nbduplex import Decision

        class EveryTwoSeconds:
            name = "every-two-seconds"
            def reset(self):
                pass
            def step(self, turn):
                if turn.seq % 10 == 9:
                    return Decision("backchannel", text="mm-hm")
                return Decision("listen")
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                "--audio",
                str(speech_wav),
                "--policy",
                "mypolicy:EveryTwoSeconds",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in events if e["action"] == "backchannel"][:2] == [9, 19]


def test_delegation_reaches_the_background_agent(speech_wav, tmp_path, monkeypatch):
    (tmp_path / "delegating.py").write_text(
        textwrap.dedent("""
        from nbduplex import Decision

        class AsksOnce:
            name = "asks-once"
            def reset(self):
                self.heard = []
            def step(self, turn):
                self.heard += [e.text for e in turn.text if e.role == "agent"]
                if turn.seq == 2:
                    return Decision("delegate", task="what is 17 times 23")
                if self.heard and turn.seq > 2:
                    text, self.heard = self.heard[-1], []
                    return Decision("respond", text=text)
                return Decision("listen")
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                "--audio",
                str(speech_wav),
                "--policy",
                "delegating:AsksOnce",
                "--realtime",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    said = [e["text"] for e in events if e["action"] == "respond"]
    assert said and "391" in said[0]
    from nbduplex.trace import Trace

    kinds = {sp["kind"] for sp in Trace.load(out / "trace").spans}
    assert {"agent_task", "tool_call"} <= kinds


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--audio", "missing.wav", "--out", "o"], "no such file"),
        (["run", "--audio", "{bad}", "--out", "o"], "cannot read"),
        (["run", "--audio", "{wav}", "--policy", "nope", "--out", "o"], "unknown policy"),
        (["run", "--audio", "{wav}", "--policy", "no_such_mod:x", "--out", "o"], "cannot load"),
        (["run", "--audio", "{wav}", "--text", "abc", "--out", "o"], "SECONDS:TEXT"),
        (["run", "--audio", "{wav}", "--text=-1:hi", "--out", "o"], "seconds"),
        (["run", "--audio", "{wav}", "--text", "1.5:", "--out", "o"], "empty"),
        (["run", "--out", "o"], "--audio"),
        (["demo", "--kind", "nope"], "unknown scenario kind"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_gives_one_error_line(args, message, speech_wav, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("this is not audio")
    args = [a.format(bad=bad, wav=speech_wav) for a in args]
    args = [str(tmp_path / a) if a == "o" else a for a in args]
    res = run_cli(*args)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert message.lower() in lines[0].lower()


def test_policies_lists_presets():
    res = run_cli("policies")
    assert res.returncode == 0
    assert {"openai-server-vad", "pipecat"} <= set(res.stdout.split())


def test_demo_with_the_model_on_a_spoken_instruction(tmp_path, capsys):
    """`nbduplex demo` runs a scenario through the shipped model and reports the task scores;
    timespeak seed 6 is a spoken instruction ("Say hello in eight seconds.")."""
    out = tmp_path / "demo"
    argv = ["demo", "--kind", "timespeak", "--seed", "6", "--policy", "model", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "timespeak_spoken" in printed and "(1 event)" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tasks"]["timespeak_spoken"]["n"] == 1
    rows = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    heard = [r["info"]["heard_instruction"] for r in rows if r["info"].get("heard_instruction")]
    assert heard == ["say hello in 8 seconds"]
    for name in ("timeline.png", "output.wav", "input"):
        assert (out / name).exists()


@pytest.mark.skipif(not available("flite"), reason="needs the flite Debian package")
def test_demo_in_a_voice_the_model_never_trained_on(tmp_path, capsys):
    """`--synth flite` renders the user's side with flite (held out from training)."""
    out = tmp_path / "demo"
    argv = ["demo", "--synth", "flite", "--policy", "openai-server-vad", "--out", str(out)]
    assert main(argv) == 0
    assert "(seed 0, flite)" in capsys.readouterr().out
    assert main([*argv[:-1], str(tmp_path / "espeak"), "--synth", "espeak"]) == 0
    flite, rate = sf.read(out / "input" / "input.wav", dtype="int16")
    espeak, _ = sf.read(tmp_path / "espeak" / "input" / "input.wav", dtype="int16")
    assert rate == 16000 and not np.array_equal(flite[: len(espeak)], espeak[: len(flite)])


def test_eval_on_chosen_kinds_and_seeds(capsys):
    """`nbduplex eval --kind ... --seed ...` runs only those kinds, from that seed on."""
    argv = ["eval", "--policy", "energy-vad", "--split", "heldout", "--n-per-kind", "2"]
    argv += ["--kind", "turn_taking", "--kind", "pause_handling", "--seed", "500"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "pause.tor" in printed
    assert next(x for x in printed.splitlines() if x.startswith("scenarios")).split()[1] == "4.000"
    res = run_cli("eval", "--kind", "nope")
    assert res.returncode == 2 and "unknown scenario kind 'nope'" in res.stderr
