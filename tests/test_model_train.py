"""Training recipe: data caching, batching, loss weights, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nbduplex.model import load_model, tiny_config
from nbduplex.model.data import IGNORE, DataConfig, build_dataset, collate, reply_id
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
    x, act, rep = collate(ex, cfg, n + 5, np.random.default_rng(0))
    x.validate(cfg)
    assert act.shape == (2, n + 5) and (act[:, n:] == IGNORE).all()
    x, act, rep = collate(ex, cfg, 10, np.random.default_rng(0), time_offset_s=100.0)
    assert act.shape == (2, 10) and (act != IGNORE).all()
    assert set(rep.unique().tolist()) <= {IGNORE, *range(len(cfg.replies))}


def test_reply_ids_and_class_weights():
    r = tiny_config().replies
    assert r[reply_id("Got it.", "respond", r)] == "Got it."
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
