"""The spoken-instruction reader: segmenter, data labels, network, checkpoint entry, policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nbduplex.microturn import CHUNK_SAMPLES, SAMPLE_RATE, split_chunks
from nbduplex.model.reader.data import IGNORE, crops, reader_scenario, targets
from nbduplex.model.reader.network import OUTPUTS, ReaderNet
from nbduplex.model.reader.reader import DEFAULT_THRESHOLD
from nbduplex.model.reader.segmenter import UtteranceSegmenter
from nbduplex.scenarios.builder import ScenarioConfig
from nbduplex.scenarios.commands import Command
from nbduplex.tts import synthesize


def _speech(words: str) -> np.ndarray:
    return synthesize(words, "espeak", "en-us", 170, 50, 50, 100).trimmed().audio


def _silence(s: float) -> np.ndarray:
    return np.zeros(int(s * SAMPLE_RATE), np.int16)


def _candidates(stream: np.ndarray, seg: UtteranceSegmenter):
    out = []
    for i, chunk in enumerate(split_chunks(stream)):
        audio = seg.push(chunk)
        if audio is not None:
            out.append((i, audio, seg.span(audio)))
    return out


def test_segmenter_offers_each_pause_once_and_grows_the_utterance():
    a, b = _speech("say go in five seconds."), _speech("and then some more words.")
    stream = np.concatenate([_silence(0.5), a, _silence(0.3), b, _silence(1.2)])
    seg = UtteranceSegmenter()
    got = _candidates(stream, seg)
    assert len(got) == 2, [g[2] for g in got]
    (i1, c1, (s1, e1)), (i2, c2, (s2, e2)) = got
    a_end, b_end = 0.5 + a.size / SAMPLE_RATE, 0.8 + (a.size + b.size) / SAMPLE_RATE
    assert s1 == pytest.approx(s2) and s1 <= 0.5  # one utterance: the gap is under end_s
    assert a_end - 0.05 <= e1 <= a_end + 0.2 and b_end - 0.05 <= e2 <= b_end + 0.2
    assert i1 * 0.2 <= a_end + 0.4  # offered in the micro-turn after the speech ends at most
    start = int(round(s2 * SAMPLE_RATE))
    assert np.array_equal(c2, stream[start : start + c2.size])  # an exact slice of the stream


def test_segmenter_consume_and_new_utterance():
    a = _speech("say go in five seconds.")
    stream = np.concatenate([_silence(0.4), a, _silence(0.3), a, _silence(0.8), a, _silence(0.6)])
    seg = UtteranceSegmenter()
    offered = []
    for chunk in split_chunks(stream):
        audio = seg.push(chunk)
        if audio is not None:
            offered.append(seg.span(audio))
            seg.consume()  # understood: the rest of this utterance is not offered
    assert len(offered) == 2
    assert offered[1][0] > 0.4 + 2 * a.size / SAMPLE_RATE + 0.3  # the third "a" starts anew


def test_segmenter_ignores_silence_and_short_noise():
    rng = np.random.default_rng(0)
    click = (rng.normal(0, 3000, 1600)).astype(np.int16)  # 0.1 s burst
    stream = np.concatenate([_silence(1.0), click, _silence(1.0)])
    assert _candidates(stream, UtteranceSegmenter()) == []
    seg = UtteranceSegmenter()
    with pytest.raises(ValueError):
        seg.push(np.zeros((CHUNK_SAMPLES, 2), np.int16))


def test_reader_data_labels_the_instruction_that_ends_a_candidate():
    seen_pos = seen_neg = 0
    for seed in range(10):
        scenario, instructions = reader_scenario(
            seed, ScenarioConfig(frames_per_turn=0, snr_db=float("inf"))
        )
        for c in crops(scenario, instructions):
            if c.command is not None:
                seen_pos += 1
                assert any(abs(c.end - i.end) < 0.4 for i in instructions)
            else:
                seen_neg += 1
            assert c.features.shape[1] == 80 and np.isfinite(c.features).all()
    assert seen_pos >= 3 and seen_neg >= 3


def test_targets_use_only_the_template_slots():
    t = targets(Command("when", word="go", cue="banana"))
    assert t["template"] == 3 and t["word"] == 0 and t["cue"] == 0
    assert t["number"] == t["color"] == t["shape"] == IGNORE
    assert targets(None) == {"template": 0, **{k: IGNORE for k in OUTPUTS if k != "template"}}


def test_augmentation_blurs_the_mel_axis_only_when_asked():
    from nbduplex.model.reader.train import augment_features, blur_mel

    f = torch.zeros(20, 80)
    f[:, 40] = 1.0  # one harmonic
    g = blur_mel(f, 2.0)
    assert g.shape == f.shape and float(g.std()) == pytest.approx(float(f.std()), rel=1e-4)
    row = g[0]
    assert int(row.argmax()) == 40 and row[38] == pytest.approx(float(row[42]), abs=1e-6)
    assert 0 < row[36] < row[38] < row[40]  # spread over the neighbours, peak kept
    assert torch.equal(blur_mel(f, 0.1), f)
    a = augment_features(f, np.random.default_rng(0))
    b = augment_features(f, np.random.default_rng(0), spread=0.15, blur=0.0)
    assert torch.equal(a, b)  # the defaults: no blur, the reader's warp


def test_training_seeds_are_split_between_espeak_and_pico():
    from nbduplex.model.reader.train import synth_seeds

    assert synth_seeds(100, 8, 0.0) == [("espeak", range(100, 108))]
    assert synth_seeds(100, 8, 0.25) == [("espeak", range(100, 106)), ("pico", range(106, 108))]
    assert synth_seeds(100, 8, 1.0) == [("pico", range(100, 108))]
    with pytest.raises(ValueError, match="pico_share"):
        synth_seeds(100, 8, 1.5)


def test_network_shapes_masking_and_read():
    torch.manual_seed(0)
    net = ReaderNet().eval()
    x = torch.randn(2, 120, 80)
    x[1, 60:] = 99.0  # whatever lies past a row's length
    out = net(x, torch.tensor([120, 60]))
    assert {k: v.shape for k, v in out.items()} == {k: (2, n) for k, n in OUTPUTS.items()}
    solo = net(x[1:, :60], torch.tensor([60]))  # padding in a batch changes nothing
    for k in OUTPUTS:
        assert torch.allclose(solo[k][0], out[k][1], atol=1e-5)
    cmd, conf = net.read(np.zeros((100, 80), np.float16))
    assert 0.0 < conf <= 1.0 and (cmd is None or isinstance(cmd, Command))


def test_the_listener_schedule_runs_for_any_number_of_steps():
    """A quick smoke run (`nbduplex train --listener-epochs 1 ...`) may train a listener for a
    handful of steps: OneCycleLR divided by zero at 10; no steps at all is a clear error."""
    from nbduplex.model.reader.train import one_cycle

    for steps in range(1, 40):
        opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        sched = one_cycle(opt, 1e-3, steps)
        for _ in range(steps):
            opt.step()
            sched.step()
            assert 0 < opt.param_groups[0]["lr"] <= 1e-3
    with pytest.raises(ValueError, match="nothing to train on"):
        one_cycle(opt, 1e-3, 0)


def test_train_reader_command_puts_a_working_reader_into_a_checkpoint(tmp_path, monkeypatch):
    import shutil

    from nbduplex.cli import main
    from nbduplex.model import load_model, load_policy
    from nbduplex.model.location import DEFAULT_CHECKPOINT
    from nbduplex.model.reader import train as reader_train

    ckpt = tmp_path / "model.pt"
    shutil.copy(DEFAULT_CHECKPOINT, ckpt)
    monkeypatch.setattr(reader_train, "cache_dir", lambda: tmp_path / "cache")
    argv = ["train-reader", "--checkpoint", str(ckpt), "--scenarios", "6", "--epochs", "1",
            "--eval-scenarios", "3", "--workers", "1", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    model = load_model(ckpt, device="cpu")
    net, threshold = model.reader
    assert isinstance(net, ReaderNet) and threshold == pytest.approx(DEFAULT_THRESHOLD)
    entry = torch.load(ckpt, weights_only=False)["reader"]
    assert entry["meta"]["crops"] > 0 and set(entry["meta"]["eval"]) >= {"train-voices", "heldout"}
    assert load_policy(ckpt).reader is not None
    assert load_policy(ckpt, read_instructions=False).reader is None


@pytest.mark.slow
def test_the_shipped_model_hears_spoken_instructions_and_acts_on_them():
    """Spoken TimeSpeak instructions in unseen training-voice scenarios: the reader hears them
    in the micro-turn they end (or the next) and the model says the word on time."""
    from nbduplex.model import load_policy
    from nbduplex.model.evaluate import task_scores
    from nbduplex.scenarios import generate_scenario
    from nbduplex.scenarios.commands import parse
    from nbduplex.session import Session

    policy = load_policy()
    assert policy.reader is not None, "the shipped checkpoint has no instruction reader"
    heard_right, on_time, n = 0, [], 0
    for seed in range(30_000, 30_040):
        sc = generate_scenario("timespeak", seed)
        ins = sc.labels.instructions[0]
        if ins.channel != "spoken":
            continue
        n += 1
        rows = list(Session(sc.source(), policy, realtime=False).run().rows)
        heard = [r for r in rows if r["info"].get("heard_instruction")]
        if heard and parse(heard[0]["info"]["heard_instruction"]) == parse(ins.text):
            heard_right += 1
            assert ins.t - 0.2 <= heard[0]["t"] <= ins.t + 0.4
        on_time += task_scores(rows, sc.labels)["timespeak"]
        if n == 6:
            break
    assert n == 6 and heard_right >= 5, heard_right
    assert np.mean(on_time) >= 0.5, on_time


@pytest.mark.slow
def test_ordinary_conversation_is_not_read_as_instructions():
    from nbduplex.model import load_policy
    from nbduplex.scenarios import generate_scenario
    from nbduplex.session import Session

    policy = load_policy()
    for kind in ("turn_taking", "backchannel", "interruption"):
        for seed in (10_000, 10_001):
            sc = generate_scenario(kind, seed, voices="heldout")
            rows = list(Session(sc.source(), policy, realtime=False).run().rows)
            assert not [r for r in rows if r["info"].get("heard_instruction")], (kind, seed)
