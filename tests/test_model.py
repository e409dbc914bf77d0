"""The interaction model: shapes, streaming == full pass, bounded memory, batching, golden."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nbduplex.model.config import ModelConfig, tiny_config
from nbduplex.model.inputs import TurnInputs, empty_inputs, random_inputs
from nbduplex.model.kv_cache import SinkKVCache
from nbduplex.model.model import InteractionModel

GOLDEN = Path(__file__).parent / "golden" / "model_tiny.pt"


def _model(cfg: ModelConfig, seed: int = 0) -> InteractionModel:
    torch.manual_seed(seed)
    return InteractionModel(cfg).eval()


def _stream(model: InteractionModel, x) -> tuple[torch.Tensor, torch.Tensor]:
    b, t = x.shape
    acts, reps = [], []
    with torch.no_grad(), model.streaming(b):
        for i in range(t):
            out = model.step(x.slice(i, i + 1))
            acts.append(out.action_logits)
            reps.append(out.reply_logits)
    return torch.cat(acts, 1), torch.cat(reps, 1)


def test_shapes_and_token_layout():
    cfg = ModelConfig(ctx_turns=16)
    assert cfg.audio_tokens == 2 and cfg.tokens_per_turn == 4
    m = _model(cfg)
    x = random_inputs(cfg, 3, 5, torch.Generator().manual_seed(0))
    x.validate(cfg)
    out = m(x)
    assert out.action_logits.shape == (3, 5, 6)
    assert out.reply_logits.shape == (3, 5, len(cfg.replies))
    assert out.hidden.shape == (3, 5, cfg.d_model)


def test_streaming_equals_full_pass_within_window():
    cfg = ModelConfig(ctx_turns=24)  # default sizes, short window to keep the test fast
    m = _model(cfg)
    x = random_inputs(cfg, 2, 24, torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = m(x)
    acts, reps = _stream(m, x)
    torch.testing.assert_close(acts, full.action_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(reps, full.reply_logits, atol=1e-5, rtol=0)


def test_streaming_equals_full_pass_past_the_window():
    """Sinks + sliding window + cache positions: the full pass applies the same rule."""
    cfg = tiny_config()
    m = _model(cfg)
    x = random_inputs(cfg, 2, 3 * cfg.ctx_turns + 3, torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = m(x, chunk_turns=5)  # chunked queries must not change anything
    acts, _ = _stream(m, x)
    torch.testing.assert_close(acts, full.action_logits, atol=1e-5, rtol=0)


def test_long_session_has_bounded_memory_and_finite_outputs():
    cfg = ModelConfig(ctx_turns=20)
    m = _model(cfg)
    turns = 3 * cfg.ctx_turns
    x = random_inputs(cfg, 1, turns, torch.Generator().manual_seed(3))
    x.t += 3600.0  # an hour into the stream: time features must stay sane
    with torch.no_grad(), m.streaming(1):
        cache = m.cache
        ptr, nbytes = cache.k.data_ptr(), cache.nbytes
        probs = []
        for i in range(turns):
            out = m.step(x.slice(i, i + 1))
            assert torch.isfinite(out.action_logits).all()
            assert torch.isfinite(out.reply_logits).all()
            probs.append(out.action_logits.softmax(-1))
            assert cache.k.data_ptr() == ptr and cache.nbytes == nbytes
        assert cache.turn == turns and int(cache.valid.sum()) == cfg.cache_tokens
    p = torch.cat(probs, 1)[0]
    # past the window the outputs stay in the range seen inside it (no blow-up or collapse)
    inside, past = p[: cfg.ctx_turns], p[2 * cfg.ctx_turns :]
    assert (past.max(0).values <= inside.max(0).values + 0.25).all()
    assert m.cache is None  # released on exit


def test_batch_of_two_equals_two_single_sessions():
    cfg = tiny_config()
    m = _model(cfg)
    x = random_inputs(cfg, 2, 12, torch.Generator().manual_seed(4))
    both, _ = _stream(m, x)
    one, _ = _stream(m, x.select([0]))
    two, _ = _stream(m, x.select([1]))
    torch.testing.assert_close(both, torch.cat([one, two], 0), atol=1e-5, rtol=0)


def test_a_row_reset_starts_a_new_session_while_the_other_row_goes_on():
    """Sessions in one batch need not start together: row 1 restarts at micro-turn 7 and runs
    past the window (ring slots differ between the rows); both rows match single sessions."""
    cfg = tiny_config()
    m = _model(cfg)
    n, cut = 3 * cfg.ctx_turns, 7
    a = random_inputs(cfg, 1, n, torch.Generator().manual_seed(6))  # row 0, from turn 0
    b = random_inputs(cfg, 1, n, torch.Generator().manual_seed(7))  # row 1: an old session...
    c = random_inputs(cfg, 1, n - cut, torch.Generator().manual_seed(8))  # ...then a new one
    alone_a, _ = _stream(m, a)
    alone_c, _ = _stream(m, c)
    rows = [[], []]
    with torch.no_grad(), m.streaming(2):
        for i in range(n):
            if i == cut:
                m.reset_sessions([1])
                assert m.cache.turns.tolist() == [cut, 0]
            second = b.slice(i, i + 1) if i < cut else c.slice(i - cut, i - cut + 1)
            out = m.step(TurnInputs.cat([a.slice(i, i + 1), second]))
            rows[0].append(out.action_logits[0])
            rows[1].append(out.action_logits[1])
        with pytest.raises(IndexError):
            m.reset_sessions([2])
    torch.testing.assert_close(torch.cat(rows[0])[None], alone_a, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.cat(rows[1][cut:])[None], alone_c, atol=1e-5, rtol=0)
    with pytest.raises(RuntimeError, match="streaming"):
        m.reset_sessions([0])


def test_empty_inputs_are_fine_and_gradients_reach_every_parameter():
    cfg = tiny_config()
    m = _model(cfg).train()
    x = empty_inputs(cfg, 2, 6)
    out = m(x)
    assert torch.isfinite(out.action_logits).all()
    y = random_inputs(cfg, 2, 6, torch.Generator().manual_seed(5))
    out = m(y)
    h = out.hidden.flatten(0, 1)[:3]
    spelled = m.byte_decoder.loss(h, torch.tensor([0, 1, 2]), ["Okay, sure.", "mm-hm", "go"])
    (out.action_logits.sum() + out.reply_logits.sum() + spelled).backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_step_outside_streaming_and_wrong_shapes_raise():
    cfg = tiny_config()
    m = _model(cfg)
    x = random_inputs(cfg, 2, 2)
    with pytest.raises(RuntimeError, match="streaming"):
        m.step(x.slice(0, 1))
    with m.streaming(2), pytest.raises(ValueError, match="T=1"):
        m.step(x)
    with m.streaming(1), pytest.raises(ValueError, match="B=1"):
        m.step(x.slice(0, 1))
    with pytest.raises(ValueError):
        SinkKVCache(
            n_layers=1, batch=0, n_heads=1, head_dim=2, tokens_per_turn=4, sink_turns=1, ctx_turns=4
        )


def test_bad_inputs_and_configs_are_rejected():
    cfg = tiny_config()
    x = random_inputs(cfg, 1, 2)
    x.codes[0, 0, 0, 0] = 16
    with pytest.raises(ValueError, match="codes"):
        x.validate(cfg)
    y = random_inputs(cfg, 1, 2)
    y.t[0, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        y.validate(cfg)
    with pytest.raises(ValueError, match="shape"):
        random_inputs(ModelConfig(), 1, 2).validate(cfg)
    with pytest.raises(ValueError):
        ModelConfig(d_model=30, n_heads=4)
    with pytest.raises(ValueError):
        ModelConfig(audio_group=3)
    with pytest.raises(ValueError):
        ModelConfig(sink_turns=8, ctx_turns=8)
    with pytest.raises(ValueError):
        ModelConfig(replies=("hi",))
    assert ModelConfig.from_dict({**cfg.to_dict(), "unknown": 1}) == cfg


@settings(max_examples=40, deadline=None)
@given(
    sink=st.integers(0, 3),
    extra=st.integers(1, 6),
    s=st.integers(1, 5),
    turns=st.integers(1, 40),
)
def test_cache_holds_exactly_the_sinks_and_the_last_window(sink, extra, s, turns):
    ctx = sink + extra
    c = SinkKVCache(
        n_layers=1, batch=1, n_heads=1, head_dim=2, tokens_per_turn=s, sink_turns=sink,
        ctx_turns=ctx,
    )  # fmt: skip
    owner = [-1] * c.size
    for i in range(turns):
        sl = c.slots()[0].tolist()
        absolute, cache_pos = c.positions()
        assert absolute[0].tolist() == list(range(i * s, (i + 1) * s))
        assert int(cache_pos.max()) < c.size
        assert sl == list(range(sl[0], sl[0] + s))  # a micro-turn's tokens are contiguous
        for j in sl:
            owner[j] = i
        c.advance()
        held = sorted({o for o in owner if o >= 0})
        want = sorted(set(range(min(sink, i + 1))) | set(range(max(0, i - extra + 1), i + 1)))
        assert held == want


def _golden_case():
    cfg = tiny_config()
    m = _model(cfg, seed=0)
    x = random_inputs(cfg, 2, 10, torch.Generator().manual_seed(123))
    return cfg, m, x


def test_golden_tensors_for_tiny_config():
    cfg, m, x = _golden_case()
    with torch.no_grad():
        out = m(x)
    if os.environ.get("NBDUPLEX_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        torch.save({"action": out.action_logits, "reply": out.reply_logits}, GOLDEN)
    gold = torch.load(GOLDEN)
    torch.testing.assert_close(out.action_logits, gold["action"], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.reply_logits, gold["reply"], atol=1e-4, rtol=1e-4)
