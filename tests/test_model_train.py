"""Training recipe: data caching, batching, loss weights, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nbduplex.microturn import TextEvent
from nbduplex.model import load_model, tiny_config
from nbduplex.model.data import DataConfig, build_dataset, collate
from nbduplex.model.examples import IGNORE, reply_id
from nbduplex.model.train import TrainConfig, _lr_at, class_weights, train


def _cfg(tmp_path, out: str, steps: int) -> TrainConfig:
    return TrainConfig(
        out_dir=str(tmp_path / out),
        steps=steps,
        batch_size=2,
        seq_turns=12,
        warmup=2,
        save_every=2,
        progress=False,
        threads=1,
        data=DataConfig(n_scenarios=2, cache_dir=str(tmp_path / "cache"), mixture_share=0.0),
        model=tiny_config(),
    )


def test_dataset_is_cached_and_reloads_identically(tmp_path):
    dc = DataConfig(n_scenarios=2, cache_dir=str(tmp_path), mixture_share=0.0)
    a = build_dataset(dc, tiny_config(), progress=False)
    files = sorted(tmp_path.rglob("*.npz"))
    assert len(files) == 2
    b = build_dataset(dc, tiny_config(), progress=False)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
    with pytest.raises(ValueError, match="held-out"):
        build_dataset(DataConfig(voices="heldout", cache_dir=str(tmp_path)), tiny_config())


def test_collate_pads_and_crops(tmp_path):
    cfg = tiny_config()
    ex = build_dataset(DataConfig(n_scenarios=2, cache_dir=str(tmp_path), mixture_share=0.0),
                       cfg, progress=False)  # fmt: skip
    n = max(len(e["action"]) for e in ex)
    x, act, rep, _ = collate(ex, cfg, n + 5, np.random.default_rng(0))
    x.validate(cfg)
    assert act.shape == (2, n + 5) and (act[:, n:] == IGNORE).all()
    x, act, rep, _ = collate(ex, cfg, 10, np.random.default_rng(0), time_offset_s=100.0)
    assert act.shape == (2, 10) and (act != IGNORE).float().mean() > 0.5  # no padding
    assert set(rep.unique().tolist()) <= {IGNORE, *range(len(cfg.replies))}


def test_reply_ids_and_class_weights():
    r = tiny_config().replies
    got = "Got it, thanks for telling me."
    assert r[reply_id(got, "respond", r)] == got
    assert r[reply_id("Something unknown.", "respond", r)] == r[1]  # the first answer
    assert r[reply_id("I see a red circle.", "interject", r)] == "I see something."
    assert r[reply_id("391", "respond", r)] == "@agent"
    assert r[reply_id("something new", "backchannel", r)] == "mm-hm"
    w = class_weights([{"action": np.array([0] * 90 + [1] * 10)}], 6)
    assert float(w[1] / w[0]) == pytest.approx(3.0)  # (10 / 90) ** -0.5
    cfg = TrainConfig(steps=100, warmup=10, lr=1e-3, min_lr=1e-5)
    assert _lr_at(0, cfg) == pytest.approx(1e-4)
    assert _lr_at(10, cfg) == pytest.approx(1e-3)
    assert _lr_at(100, cfg) == pytest.approx(1e-5)


def test_training_resumes_exactly(tmp_path):
    straight = load_model(train(_cfg(tmp_path, "a", 4)), device="cpu")
    train(_cfg(tmp_path, "b", 2))  # stops at step 2 (checkpoint), then resumes to 4
    resumed_path = train(_cfg(tmp_path, "b", 4))
    resumed = load_model(resumed_path, device="cpu")
    assert resumed.meta["steps"] == 4
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=k)


def test_answers_are_full_sentences():
    """FD-bench takes a turn as taken for speech >= 1 s or > 3 words: answers must qualify."""
    from nbduplex.scenarios import text

    for r in (*text.REPLIES, *text.YIELD_REPLIES):
        assert len(r.split()) >= 4 and r in tiny_config().replies
    assert all(len(b.split()) <= 2 for b in text.BACKCHANNELS)


def test_label_shaping_and_anchors(tmp_path):
    from nbduplex.model.data import make_scenario
    from nbduplex.model.examples import scenario_example

    cfg = tiny_config()
    names = list(cfg.actions)
    sc = make_scenario("timespeak", 1)
    ex = scenario_example(sc, cfg)
    for e in sc.labels.expected:  # tolerant events: neighbours ignored, same word
        assert names[ex["action"][e.seq]] == "interject"
        assert ex["action"][e.seq - 1] == IGNORE == ex["action"][e.seq + 1]
        assert ex["reply"][e.seq - 1] == ex["reply"][e.seq] == ex["reply"][e.seq + 1]
        assert cfg.replies[ex["reply"][e.seq]] == e.text
    # answers at turn ends: on time, (some) one micro-turn late with the ideal one ignored, or
    # (some) right after a teacher-forced back-channel (its words and speaking flag, not taught)
    from nbduplex.model.config import BACKCHANNEL_REPLIES as BC_WORDS
    from nbduplex.model.featurize import encode_text

    shapes = {"on time": 0, "late": 0, "after back-channel": 0}
    for seed in range(8):
        sc = make_scenario("turn_taking", seed)
        ex = scenario_example(sc, cfg, bc_recovery=0.2)
        if seed < 2:  # bc_recovery=0: no forced back-channel in the model's text
            plain = scenario_example(sc, cfg, bc_recovery=0.0)["text"]
            for w in BC_WORDS:
                bc = encode_text([TextEvent("model", w)], cfg.max_text_bytes)
                assert not (plain == bc).all(axis=1).any()
        for e in sc.labels.expected:
            a = [names[i] if i >= 0 else "-" for i in ex["action"][e.seq : e.seq + 6]]
            if a[:2] == ["respond", "listen"]:
                shapes["on time"] += 1
            elif a[:2] == ["-", "respond"]:
                shapes["late"] += 1
            else:
                end = a.index("respond")
                assert a[0] == "-" and set(a[1:end]) == {"listen"} and end >= 2
                assert ex["speaking"][e.seq + 1 : e.seq + end].all()
                assert not ex["speaking"][e.seq + end]  # silent when the answer is due
                said = [w for w in BC_WORDS if (ex["text"][e.seq + 1] == encode_text(
                    [TextEvent("model", w)], cfg.max_text_bytes)).all()]  # fmt: skip
                assert len(said) == 1
                assert cfg.replies[ex["reply"][e.seq + end]] == e.text
                shapes["after back-channel"] += 1
    assert all(shapes.values()), shapes
    # a target whose spoken instruction lies before the crop start is dropped
    ex = {k: v.copy() for k, v in ex.items()}
    k = int(np.flatnonzero(ex["action"] == names.index("respond"))[0])
    ex["anchor"][k] = 0
    crop = len(ex["action"]) - 1
    rng = np.random.default_rng(1)
    while True:
        x, act, _, _ = collate([ex], cfg, crop, rng)
        if x.t[0, 0] > 0:  # the crop starts after micro-turn 0
            break
    assert act[0, k - 1] == IGNORE


def test_init_from_weights_starts_a_fresh_run(tmp_path):
    src = train(_cfg(tmp_path, "a", 2))
    cfg = _cfg(tmp_path, "c", 0)
    cfg.init_from = str(src)
    start = load_model(train(cfg), device="cpu")
    for (k, a), b in zip(
        load_model(src, device="cpu").state_dict().items(), start.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=k)
    assert start.meta["steps"] == 0
    assert start.meta["init"] == {"path": str(src), "steps": 2, "wall_s": pytest.approx(
        load_model(src, device="cpu").meta["wall_s"]), "examples": 2}  # fmt: skip


def test_kind_weights_steer_the_mix_and_workers_give_the_same_examples(tmp_path):
    from nbduplex.model.data import _spec
    from nbduplex.model.train_cli import _kind_weights
    from nbduplex.scenarios import SCENARIO_KINDS

    weights = {k: float(k == "cuespeak") for k in SCENARIO_KINDS}
    only = DataConfig(n_scenarios=50, mixture_share=0.0, kind_weights=weights)
    assert {_spec(i, only)[0] for i in range(50)} == {"cuespeak"}
    with pytest.raises(ValueError, match="unknown scenario kinds"):
        _spec(0, DataConfig(kind_weights={"juggling": 2.0}))
    assert _kind_weights("cuespeak=3, timespeak=2") == {"cuespeak": 3.0, "timespeak": 2.0}
    with pytest.raises(Exception, match="kind=weight"):
        _kind_weights("cuespeak")
    dc = DataConfig(n_scenarios=3, cache_dir=str(tmp_path / "a"), mixture_share=0.0)
    serial = build_dataset(dc, tiny_config(), progress=False)
    dc.cache_dir, dc.workers = str(tmp_path / "b"), 2
    parallel = build_dataset(dc, tiny_config(), progress=False)
    for x, y in zip(serial, parallel, strict=True):
        assert all(np.array_equal(x[k], y[k]) for k in x)


def test_pauses_are_hard_negatives_with_forced_back_channels():
    """Data v5: some long mid-turn pauses start with a teacher-forced back-channel (its words and
    speaking flag; the action there is ignored) and "listen" stays the target after it; the pause
    mask marks exactly the "listen" targets decided inside a pause."""
    from nbduplex.model.config import BACKCHANNEL_REPLIES as BC_WORDS
    from nbduplex.model.data import make_scenario
    from nbduplex.model.examples import PAUSE_BC_MIN_S, scenario_example
    from nbduplex.model.featurize import encode_text
    from nbduplex.scenarios.labels import reaction_seq

    cfg = tiny_config()
    listen = list(cfg.actions).index("listen")
    forced = 0
    for seed in range(12):
        sc = make_scenario("pause_handling", seed)
        ex = scenario_example(sc, cfg, bc_recovery=0.2)
        inside = np.zeros(len(ex["action"]), bool)
        for p in sc.labels.pauses:
            k = reaction_seq(p.start)
            inside[k : reaction_seq(p.end)] = True
            if ex["action"][k] != IGNORE or not ex["speaking"][k + 1]:
                continue
            forced += 1
            assert p.end - p.start >= PAUSE_BC_MIN_S
            said = [w for w in BC_WORDS if (ex["text"][k + 1] == encode_text(
                [TextEvent("model", w)], cfg.max_text_bytes)).all()]  # fmt: skip
            assert len(said) == 1
            assert (ex["action"][k + 1 : reaction_seq(p.end)] == listen).all()
        np.testing.assert_array_equal(ex["pause"], inside & (ex["action"] == listen))
        plain = scenario_example(sc, cfg, bc_recovery=0.0)
        for p in sc.labels.pauses:  # bc_recovery=0: no forced back-channel in any pause
            assert plain["action"][reaction_seq(p.start)] == listen
        assert plain["pause"].sum() >= ex["pause"].sum()
    assert forced >= 2


def test_pause_weight_scales_the_loss_of_pause_micro_turns():
    import torch.nn.functional as F

    from nbduplex.model.train import action_loss

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 7, 6, generator=g)
    act = torch.randint(0, 6, (2, 7), generator=g)
    act[0, 0] = IGNORE
    w = torch.rand(6, generator=g) + 0.5
    pause = torch.zeros(2, 7, dtype=torch.bool)
    pause[1, 2:5] = True
    plain = F.cross_entropy(logits.flatten(0, 1), act.flatten(), weight=w, ignore_index=IGNORE)
    torch.testing.assert_close(action_loss(logits, act, w, pause, 1.0), plain)
    per = F.cross_entropy(logits.flatten(0, 1), act.flatten().clamp(min=0), reduction="none")
    in_pause = per.view(2, 7)[pause].mean()
    heavy = action_loss(logits, act, w, pause, 1000.0)
    assert abs(heavy - in_pause) < abs(plain - in_pause)  # pulled towards the pause losses
    all_pause = torch.ones_like(pause)
    torch.testing.assert_close(action_loss(logits, act, w, all_pause, 5.0), plain)
    assert action_loss(logits, torch.full_like(act, IGNORE), w, pause, 3.0) == 0


def test_narrowband_share_picks_scenarios_by_seed(tmp_path):
    from nbduplex.model.data import narrowband_cutoff

    cuts = [narrowband_cutoff(seed, 0.3) for seed in range(400)]
    picked = [c for c in cuts if c is not None]
    assert 0.2 < len(picked) / len(cuts) < 0.4 and all(3000 <= c <= 4000 for c in picked)
    assert cuts == [narrowband_cutoff(seed, 0.3) for seed in range(400)]  # by seed alone
    assert all(narrowband_cutoff(seed, 0.0) is None for seed in range(50))
    dc = DataConfig(n_scenarios=1, cache_dir=str(tmp_path), mixture_share=0.0, narrowband=1.0)
    build_dataset(dc, tiny_config(), progress=False)
    assert [p.name.endswith("-nb1") for p in tmp_path.iterdir()] == [True]


def test_replay_adds_an_earlier_stages_scenarios_without_its_new_options(tmp_path):
    """Replay: the new data as asked (here all narrowband) plus the earlier stage's own
    scenarios (its seed, full band), each set cached under its own key, the earlier one as
    that stage's run cached it."""
    new = DataConfig(n_scenarios=1, cache_dir=str(tmp_path), mixture_share=0.0, narrowband=1.0)
    alone = build_dataset(new, tiny_config(), progress=False)
    earlier = DataConfig(n_scenarios=2, cache_dir=str(tmp_path), mixture_share=0.0, seed=5)
    before = build_dataset(earlier, tiny_config(), progress=False)
    both = build_dataset(
        DataConfig(
            n_scenarios=1,
            cache_dir=str(tmp_path),
            mixture_share=0.0,
            narrowband=1.0,
            replay_scenarios=2,
            replay_seed=5,
        ),  # fmt: skip
        tiny_config(),
        progress=False,
    )
    assert len(both) == 3
    for x, y in zip(both, alone + before, strict=True):
        assert all(np.array_equal(x[k], y[k]) for k in x)
    assert sorted(p.name.split("-")[-1] for p in tmp_path.iterdir()) == ["bc0.2", "nb1"]


def test_nbduplex_train_command_trains_a_small_model(tmp_path):
    """The real command line: data (with the v5 and narrowband options), a step, a checkpoint."""
    from nbduplex.cli import main

    out = tmp_path / "run"
    rc = main(["train", "--out", str(out), "--steps", "1", "--batch-size", "1", "--scenarios",
               "1", "--d-model", "32", "--layers", "1", "--threads", "1", "--no-progress",
               "--cache-dir", str(tmp_path / "cache"), "--pause-weight", "3", "--narrowband",
               "1", "--kind-weights", "pause_handling=1,turn_taking=0", "--replay-scenarios",
               "1", "--replay-seed", "5"])  # fmt: skip
    assert rc == 0
    model = load_model(out / "model.pt", device="cpu")
    assert model.meta["steps"] == 1 and model.config.d_model == 32
    cfg = model.meta["train_config"]
    assert cfg["pause_weight"] == 3.0 and cfg["data"]["narrowband"] == 1.0
    assert cfg["data"]["replay_scenarios"] == 1 and cfg["data"]["replay_seed"] == 5
    names = sorted(p.name.split("-")[-1] for p in (tmp_path / "cache").iterdir())
    assert names == ["bc0.2", "nb1"]  # the replayed stage's data and the new


def test_the_one_retrain_command_chains_every_stage_into_one_checkpoint(tmp_path, monkeypatch):
    """`nbduplex train --reader --turn-end --cue` (the model card's retrain command) at smoke
    size (`--listener-*`): the transformer, then each listener, all in one file that loads."""
    from nbduplex.cli import main
    from nbduplex.model import load_policy
    from nbduplex.tts import available

    monkeypatch.setenv("HOME", str(tmp_path))  # the listeners cache rendered data under ~/.cache
    out = tmp_path / "run"
    rc = main(["train", "--out", str(out), "--steps", "1", "--batch-size", "1", "--scenarios",
               "1", "--d-model", "32", "--layers", "1", "--threads", "1", "--no-progress",
               "--cache-dir", str(tmp_path / "cache"), "--reader", "--turn-end", "--cue",
               "--listener-scenarios", "6", "--listener-epochs", "1",
               "--listener-eval-scenarios", "0"])  # fmt: skip
    assert rc == 0
    ckpt = torch.load(out / "model.pt", weights_only=False)
    for key in ("reader", "turn_end", "cue"):
        assert ckpt[key]["meta"]["train"]["scenarios"] == 6, key
        assert ckpt[key]["meta"]["train"]["epochs"] == 1, key
    if available("pico"):  # the reader's last stage (half Pico, seed 14) ran last
        assert ckpt["reader"]["meta"]["train"]["pico_share"] == 0.5
        assert ckpt["reader"]["meta"]["train"]["seed"] == 14
    policy = load_policy(out / "model.pt")
    assert policy.reader and policy.turn_end and policy.cue
