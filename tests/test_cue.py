"""The cue spotter: window labels, run-time spotter, checkpoint entry, policy, CLI."""

from __future__ import annotations

import numpy as np
import pytest

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, split_chunks
from nbduplex.model.cue.data import CLASSES, EARLY_S, LATE_S, OUTPUT, WINDOW_SAMPLES, label, windows
from nbduplex.model.cue.spotter import CueSpotter
from nbduplex.model.reader.network import ReaderNet, log_mel
from nbduplex.model.window_classifier import small_config
from nbduplex.scenarios import generate_scenario
from nbduplex.tts import flite


def _typed_cuespeak(first: int = 10_000):
    """The first CueSpeak scenario from seed `first` whose instruction is typed."""
    for seed in range(first, first + 50):
        sc = generate_scenario("cuespeak", seed, frames_per_turn=0)
        if sc.labels.instructions[0].channel == "typed":
            return sc
    raise AssertionError("no typed CueSpeak instruction in 50 seeds")


@pytest.fixture(scope="module")
def cue_scenario():
    return _typed_cuespeak()


def _net() -> ReaderNet:
    return ReaderNet(small_config(), {OUTPUT: len(CLASSES)}).eval()


def test_labels_name_the_cue_word_just_said(cue_scenario):
    lab = cue_scenario.labels
    (cue,) = lab.cues
    y = CLASSES.index(cue.word)
    assert label(lab, cue.end) == y and label(lab, cue.end + LATE_S - 0.01) == y
    assert label(lab, cue.end - EARLY_S - 0.1) is None  # neither clearly on nor off
    assert label(lab, 0.05) == 0  # before anything was said


def test_windows_are_labelled_micro_turn_ends(cue_scenario):
    ws = windows(cue_scenario, np.random.default_rng(0))
    assert ws and {w.y for w in ws} >= {0, CLASSES.index(cue_scenario.labels.cues[0].word)}
    for w in ws:
        assert w.y == label(cue_scenario.labels, w.t)
        assert w.features.shape[1] == 80
        assert round(w.t / MICROTURN_S) * MICROTURN_S == pytest.approx(w.t)


def test_spotter_keeps_the_last_window_and_names_cue_words():
    spotter = CueSpotter(_net(), threshold=0.5)
    rng = np.random.default_rng(0)
    stream = (rng.standard_normal(CHUNK_SAMPLES * 12) * 3000).astype(np.int16)
    for chunk in split_chunks(stream):
        spotter.push(chunk)
    assert np.array_equal(spotter._audio, stream[-WINDOW_SAMPLES:])
    # frames computed as the audio arrived equal the training features of the window
    assert np.array_equal(spotter.features(), log_mel(stream[-WINDOW_SAMPLES:]))
    odd = (rng.standard_normal(1000) * 3000).astype(np.int16)  # not whole hops: recomputed
    spotter.push(odd)
    assert np.array_equal(
        spotter.features(), log_mel(np.concatenate([stream, odd])[-WINDOW_SAMPLES:])
    )
    for k in range(3):  # read after one, then after two pushes: only new frames are computed
        for _ in range(k):
            spotter.push(stream[k * CHUNK_SAMPLES : (k + 1) * CHUNK_SAMPLES])
        assert np.array_equal(spotter.features(), log_mel(spotter._audio))
    spotter.push(stream[:CHUNK_SAMPLES])
    p = spotter.probabilities()
    assert p.shape == (len(CLASSES),) and p.sum() == pytest.approx(1.0, abs=1e-5)
    assert spotter.p_cue("banana") == pytest.approx(p[CLASSES.index("banana")])
    assert spotter.hears("banana") == (spotter.p_cue("banana") >= 0.5)
    with pytest.raises(ValueError, match="not a cue word"):
        spotter.p_cue("none")


def _rows(policy, scenario) -> list[dict]:
    from nbduplex.session import Session

    return list(Session(scenario.source(), policy, realtime=False).run().rows)


def test_policy_says_the_instructed_word_on_a_rising_edge_of_the_cue(cue_scenario):
    """Scripted spotter readings (high at first: the instruction ends with the cue word; then
    low/high runs): the word is said only where the reading rises past the threshold, never
    before CUE_ARM_TURNS, never twice within CUE_QUIET_TURNS; with the reader's VAD, silent
    micro-turns are not read; a deaf spotter adds nothing."""
    from nbduplex.model import load_model
    from nbduplex.model.cue.listener import CUE_ARM_TURNS, CUE_QUIET_TURNS
    from nbduplex.model.policy import InteractionModelPolicy

    model = load_model(device="cpu")
    ins = cue_scenario.labels.instructions[0]
    model.cue = (_net(), 0.5)
    policy = InteractionModelPolicy(model, attribution=False)
    script = iter([0.9] * 3 + [0.1, 0.9, 0.9, 0.9, 0.2] + [0.1, 0.95] * 10 + [0.0] * 500)
    policy.cue.spotter.p_cue = lambda word: next(script) if word == ins.cue else 0.0
    policy.reader = None  # no VAD: every micro-turn is read (the instruction is typed)
    rows = _rows(policy, cue_scenario)
    armed = max(r["t"] for r in rows if r["t"] <= ins.t + 1e-6)  # the text arrives then
    heard = [r for r in rows if "p_cue" in r["info"]]
    assert heard[0]["t"] == pytest.approx(armed + CUE_ARM_TURNS * MICROTURN_S)
    said = [i for i, r in enumerate(heard) if r["info"].get("words_from") == "cue"]
    assert said and all(heard[i]["text"] == ins.say and heard[i]["action"] == "interject"
                        for i in said)  # fmt: skip
    assert all(heard[i]["info"]["cue_heard"] == ins.cue for i in said)
    p = [r["info"]["p_cue"] for r in heard]
    assert said[0] >= 4  # not on the instruction's own cue word
    last = -1
    for i in said:  # a rising edge since the last time, outside the quiet time
        assert p[i] >= 0.5 and min(p[last + 1 : i]) < 0.5
        assert last < 0 or i - last >= CUE_QUIET_TURNS
        last = i

    gated = InteractionModelPolicy(model, attribution=False)
    gated.cue.spotter.p_cue = lambda word: 1.0
    tail = _rows(gated, cue_scenario)[-4:]  # the scenario ends in silence: nothing to read
    assert all(r["info"]["p_cue"] == 0.0 for r in tail)

    model.cue = (model.cue[0], 1.01)
    deaf = _rows(InteractionModelPolicy(model, attribution=False), cue_scenario)
    off = _rows(InteractionModelPolicy(model, attribution=False, spot_cues=False), cue_scenario)
    assert [(r["t"], r["action"]) for r in deaf] == [(r["t"], r["action"]) for r in off]
    assert all("p_cue" in r["info"] for r in deaf[-5:])  # it listened all along
    assert not any("p_cue" in r["info"] for r in off)


def test_a_pause_shorter_than_the_window_does_not_make_an_old_cue_word_new():
    """With the reader's VAD: the instruction's cue word is still in the spotter's window when
    the user speaks again after a short pause, so the high reading then is no rising edge; after
    a pause as long as the window it is clear and the next high reading is a fresh cue."""
    from nbduplex.model.cue.listener import CUE_ARM_TURNS, ArmedCue, CueListener

    listener = CueListener(CueSpotter(_net(), threshold=0.5))

    def fired(script: list[float | None]) -> list[int]:
        """Micro-turns where the word was said; None: the VAD heard no speech then."""
        listener.armed = {"banana": ArmedCue("yes", age=CUE_ARM_TURNS)}
        since, out, heard = 0, [], 0.0
        for k, p in enumerate(script):
            since = 0 if p is not None else since + 1
            heard = heard if p is None else p  # in a pause the window keeps the last words
            listener.spotter.p_cue = lambda word, p=heard: p
            if listener.listen(since, False, {}) == "yes":
                out.append(k)
        return out

    window = WINDOW_SAMPLES // CHUNK_SAMPLES  # micro-turns
    short, long = [None] * (window - 1), [None] * window
    assert fired([0.99, 0.99] + short + [0.99, 0.99, 0.1, 0.99]) == [window + 4]
    assert fired([0.99, 0.99] + long + [0.99, 0.1]) == [window + 2]


def test_train_cue_command_puts_a_spotter_into_a_checkpoint(tmp_path, monkeypatch):
    import shutil

    import torch

    from nbduplex.cli import main
    from nbduplex.model import load_model, load_policy
    from nbduplex.model.location import DEFAULT_CHECKPOINT

    ckpt = tmp_path / "model.pt"
    shutil.copy(DEFAULT_CHECKPOINT, ckpt)
    monkeypatch.setenv("HOME", str(tmp_path))  # rendered data is cached under ~/.cache
    argv = ["train-cue", "--checkpoint", str(ckpt), "--scenarios", "6", "--epochs", "1",
            "--eval-scenarios", "3", "--workers", "1", "--threshold", "0.6",
            "--pico-share", "0.5", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    net, threshold = load_model(ckpt, device="cpu").cue
    assert isinstance(net, ReaderNet) and threshold == pytest.approx(0.6)
    entry = torch.load(ckpt, weights_only=False)["cue"]
    assert entry["meta"]["windows"] > 0 and set(entry["meta"]["eval"]) >= {"train-voices"}
    assert entry["meta"]["voices"] == "espeak training voices + Pico (50% of the scenarios)"
    assert list((tmp_path / ".cache" / "nbduplex" / "cue").glob("v*-pico-train-*.pkl"))
    assert load_policy(ckpt).cue is not None
    assert load_policy(ckpt, spot_cues=False).cue is None
    kept = torch.load(ckpt, weights_only=False)
    assert kept["reader"] and kept["turn_end"]  # the other listeners stay in the file


def test_fine_tune_starts_from_the_checkpoints_spotter(tmp_path, monkeypatch):
    """--fine-tune trains the spotter already in the checkpoint (with a vanishing learning rate
    it comes back unchanged); a checkpoint without one is a clear error."""
    import shutil

    import torch

    from nbduplex.model.cue.train_cli import train_cue_main
    from nbduplex.model.location import DEFAULT_CHECKPOINT

    ckpt = tmp_path / "model.pt"
    shutil.copy(DEFAULT_CHECKPOINT, ckpt)
    monkeypatch.setenv("HOME", str(tmp_path))
    before = torch.load(ckpt, weights_only=False)["cue"]["model"]
    argv = ["--checkpoint", str(ckpt), "--scenarios", "4", "--epochs", "1", "--lr", "1e-12",
            "--eval-scenarios", "0", "--workers", "1", "--fine-tune", "--no-progress"]  # fmt: skip
    train_cue_main(argv)
    entry = torch.load(ckpt, weights_only=False)["cue"]
    assert entry["meta"]["train"]["fine_tune"] and entry["meta"]["train"]["lr"] == 1e-12
    for k, v in before.items():
        assert torch.allclose(entry["model"][k].float(), v.float(), atol=1e-3), k
    bare = torch.load(ckpt, weights_only=False)
    del bare["cue"]
    torch.save(bare, ckpt)
    with pytest.raises(ValueError, match="holds no cue spotter"):
        train_cue_main(argv)


@pytest.mark.slow
def test_the_shipped_spotter_hears_cue_words_in_unseen_scenarios():
    """Unseen training-voice CueSpeak scenarios: most windows right after a cue word are heard
    as that word at the shipped threshold, few others as any cue word."""
    from nbduplex.model import load_model
    from nbduplex.model.cue.train import score

    found = load_model(device="cpu").cue
    assert found is not None, "the shipped checkpoint has no cue spotter"
    net, threshold = found
    ws = [w for s in range(40_000, 40_008)
          for w in windows(generate_scenario("cuespeak", s, frames_per_turn=0),
                           np.random.default_rng(s))]  # fmt: skip
    got = score(net, ws, threshold)
    assert got["cue_windows"] >= 10 and got["heard"] >= 0.7, got
    assert got["false_alarm"] <= 0.05 and got["wrong_cue"] <= 0.1, got


@pytest.mark.slow
@pytest.mark.skipif(not flite.available(), reason="flite not installed")
def test_the_shipped_spotter_hears_cue_words_in_an_unseen_synthesiser():
    """flite was never trained on. The spotter trained with a second synthesiser (Pico) hears
    most of its cue-word windows at p >= 0.5 (on these seeds 0.79; the session-8 spotter,
    trained on espeak alone, 0.40) and about half at the shipped threshold, with few false
    alarms."""
    from nbduplex.model import load_model
    from nbduplex.model.cue.train import score

    net, threshold = load_model(device="cpu").cue
    ws = [w for s in range(41_000, 41_016)
          for w in windows(generate_scenario("cuespeak", s, synth="flite", frames_per_turn=0),
                           np.random.default_rng(s))]  # fmt: skip
    assert score(net, ws, 0.5)["heard"] >= 0.6
    got = score(net, ws, threshold)
    assert got["cue_windows"] >= 50 and got["heard"] >= 0.35, got
    assert got["false_alarm"] <= 0.03, got
