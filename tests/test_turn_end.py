"""The turn-end detector: window labels, network, run-time detector, checkpoint entry, policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nbduplex.microturn import CHUNK_SAMPLES, MICROTURN_S, split_chunks
from nbduplex.model.reader.network import ReaderNet
from nbduplex.model.turn_end.data import (
    OUTPUTS,
    WINDOW_SAMPLES,
    label,
    windows,
)
from nbduplex.model.turn_end.detector import TurnEndDetector
from nbduplex.model.window_classifier import small_config, window_audio
from nbduplex.scenarios import generate_scenario


@pytest.fixture(scope="module")
def pauses_scenario():
    return generate_scenario("pause_handling", 3, frames_per_turn=0, snr_db=float("inf"))


def test_labels_hold_in_pauses_and_end_after_turns(pauses_scenario):
    lab = pauses_scenario.labels
    assert lab.pauses and lab.turn_ends
    for p in lab.pauses:
        assert label(lab, (p.start + p.end) / 2) == "hold"
    for t in lab.turn_ends:
        assert label(lab, t + 0.1) == "end"
        assert label(lab, t + 1.5) in ("late_end", None)  # None: the user spoke again
    assert label(lab, lab.turns[0].start + 0.1) is None  # too early in a turn to say


def test_window_audio_is_the_tail_zero_padded():
    audio = np.arange(1, 40_001, dtype=np.int16)
    w = window_audio(audio, 10_000, WINDOW_SAMPLES)
    assert w.shape == (WINDOW_SAMPLES,) and w.dtype == np.int16
    assert np.all(w[: WINDOW_SAMPLES - 10_000] == 0) and w[-1] == 10_000
    assert np.array_equal(window_audio(audio, 40_000, WINDOW_SAMPLES), audio[-WINDOW_SAMPLES:])


def test_windows_are_labelled_micro_turn_ends(pauses_scenario):
    ws = windows(pauses_scenario, np.random.default_rng(0))
    assert {w.y for w in ws} == {0, 1}
    for w in ws:
        assert w.features.shape == (WINDOW_SAMPLES // 200, 80)
        assert round(w.t / MICROTURN_S, 6).is_integer()
        assert w.y == int(label(pauses_scenario.labels, w.t) != "hold")


def test_detector_keeps_the_last_window_and_caches_its_reading():
    torch.manual_seed(0)
    det = TurnEndDetector(ReaderNet(small_config(), OUTPUTS), threshold=0.5)
    rng = np.random.default_rng(0)
    stream = (rng.standard_normal(CHUNK_SAMPLES * 20) * 3000).astype(np.int16)
    for chunk in split_chunks(stream):
        det.push(chunk)
    assert np.array_equal(det._audio, stream[-WINDOW_SAMPLES:])
    p = det.p_end()
    assert 0.0 <= p <= 1.0 and det.p_end() == p
    assert det.holds() == (p < 0.5)
    det.reset()
    assert not det._audio.any()


def _respond_or_delegate(policy, scenario) -> list[dict]:
    from nbduplex.session import Session

    rows = list(Session(scenario.source(), policy, realtime=False).run().rows)
    return [r for r in rows if r["action"] in ("respond", "delegate")]


def test_policy_keeps_listening_while_the_detector_hears_a_pause():
    """A detector that never hears a pause (threshold 0) changes nothing; one that always does
    (threshold above 1) holds every answer: it is dropped without pending micro-turns, and given
    only after a silent wait with them. (Answers to a long silence and the acknowledgement of a
    delegation, which waits for a sure detector, are off: the detector alone.)"""
    from nbduplex.model import load_model
    from nbduplex.model.policy import InteractionModelPolicy

    model = load_model(device="cpu")
    sc = generate_scenario("turn_taking", 30_001, frames_per_turn=0)
    model.turn_end = (ReaderNet(small_config(), OUTPUTS).eval(), 0.0)
    plain = {"attribution": False, "answer_silence_turns": 0, "acknowledgement": ""}
    free = _respond_or_delegate(InteractionModelPolicy(model, **plain), sc)
    off = InteractionModelPolicy(model, hold_in_pauses=False, **plain)
    assert [r["t"] for r in _respond_or_delegate(off, sc)] == [r["t"] for r in free]
    assert free and all("p_turn_end" in r["info"] for r in free)
    model.turn_end = (model.turn_end[0], 1.01)
    never = InteractionModelPolicy(model, pending_turns=0, **plain)
    assert _respond_or_delegate(never, sc) == []
    late = _respond_or_delegate(InteractionModelPolicy(model, **plain), sc)
    assert late and all(r["info"].get("pending_answer") for r in late)


def test_train_turn_end_command_puts_a_detector_into_a_checkpoint(tmp_path, monkeypatch):
    import shutil

    from nbduplex.cli import main
    from nbduplex.model import load_model, load_policy
    from nbduplex.model.location import DEFAULT_CHECKPOINT

    ckpt = tmp_path / "model.pt"
    shutil.copy(DEFAULT_CHECKPOINT, ckpt)
    monkeypatch.setenv("HOME", str(tmp_path))  # rendered data is cached under ~/.cache
    argv = ["train-turn-end", "--checkpoint", str(ckpt), "--scenarios", "7", "--epochs", "1",
            "--eval-scenarios", "3", "--workers", "1", "--threshold", "0.4",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    net, threshold = load_model(ckpt, device="cpu").turn_end
    assert isinstance(net, ReaderNet) and threshold == pytest.approx(0.4)
    entry = torch.load(ckpt, weights_only=False)["turn_end"]
    assert entry["meta"]["windows"] > 0 and set(entry["meta"]["eval"]) >= {"train-voices"}
    assert load_policy(ckpt).turn_end is not None
    assert load_policy(ckpt, hold_in_pauses=False).turn_end is None
    assert torch.load(ckpt, weights_only=False)["reader"]  # the reader stays in the file


@pytest.mark.slow
def test_the_shipped_detector_tells_pauses_from_turn_ends():
    """Unseen training-voice scenarios: windows after turn ends score above those in pauses."""
    from nbduplex.model import load_model
    from nbduplex.model.turn_end.train import score

    found = load_model(device="cpu").turn_end
    assert found is not None, "the shipped checkpoint has no turn-end detector"
    net, threshold = found
    ws = [w for s in range(40_000, 40_006)
          for w in windows(generate_scenario("pause_handling", s, frames_per_turn=0),
                           np.random.default_rng(s))]  # fmt: skip
    got = score(net, ws, threshold)
    assert got["auc"] >= 0.85 and got["hold_recall"] >= 0.7, got
