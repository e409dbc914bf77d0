"""The byte decoder: target encoding, that it learns to spell, training it alone, fallbacks."""

from __future__ import annotations

import torch

from nbduplex.microturn import MicroTurn
from nbduplex.model import InteractionModel, InteractionModelPolicy, load_model, tiny_config
from nbduplex.model.byte_decoder import BOS, EOS, ByteDecoder, encode_targets
from nbduplex.model.checkpoint import read_checkpoint, save_checkpoint
from nbduplex.model.data import DataConfig
from nbduplex.model.train import TrainConfig, train


def test_targets_are_bos_shifted_bytes_with_eos():
    inp, tgt = encode_targets(["go", "", "héllo"], max_bytes=5)
    assert inp[0, :3].tolist() == [BOS, ord("g"), ord("o")] and tgt[0, :3].tolist() == [
        103,
        111,
        EOS,
    ]
    assert inp[1, 0] == BOS and tgt[1, 0] == EOS and (tgt[1, 1:] == -100).all()
    assert tgt[2, :4].tolist() == list("héllo".encode())[:4] and tgt[2, 4] == EOS  # cut at 4 bytes


def test_decoder_learns_to_spell_what_the_state_and_action_say():
    torch.manual_seed(0)
    dec = ByteDecoder(d_model=16, hidden=64)
    h = torch.randn(3, 16)
    act = torch.tensor([0, 1, 2])
    texts = ["Sure, tell me more.", "mm-hm", "tick"]
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    assert dec.generate(h, act) != texts
    for _ in range(150):
        opt.zero_grad()
        dec.loss(h, act, texts).backward()
        opt.step()
    assert dec.generate(h, act) == texts
    # the same state with another action spells the other action's words
    assert dec.generate(h[:1], torch.tensor([2]))[0] != texts[0]


def _cfg(tmp_path, out: str, steps: int, **kw) -> TrainConfig:
    return TrainConfig(
        out_dir=str(tmp_path / out), steps=steps, batch_size=2, warmup=1,
        save_every=50, progress=False, threads=1, model=tiny_config(),
        data=DataConfig(n_scenarios=2, cache_dir=str(tmp_path / "cache"), mixture_share=0.0),
        **kw,
    )  # fmt: skip


def test_decoder_only_training_leaves_the_rest_alone_and_keeps_calibration(tmp_path):
    src = train(_cfg(tmp_path, "a", 1, seq_turns=12))
    ck = read_checkpoint(src)
    save_checkpoint(
        src, load_model(src, device="cpu"), meta={**ck["meta"], "action_scales": {"interject": 0.5}}
    )
    out = train(_cfg(tmp_path, "b", 6, decoder_only=True, init_from=str(src), seq_turns=96))
    before, after = load_model(src, device="cpu"), load_model(out, device="cpu")
    changed = {
        k.split(".")[0]
        for (k, a), b in zip(before.state_dict().items(), after.state_dict().values(), strict=True)
        if not torch.equal(a, b)
    }
    assert changed == {"byte_decoder"}
    assert after.meta["action_scales"] == {"interject": 0.5} and after.meta["byte_decoder"]
    try:
        train(_cfg(tmp_path, "c", 1, decoder_only=True, seq_turns=12))
    except ValueError as e:
        assert "init_from" in str(e)
    else:
        raise AssertionError("decoder_only without init_from must fail")


def test_checkpoints_without_a_decoder_load_and_speak_from_the_word_head(tmp_path):
    torch.manual_seed(0)
    m = InteractionModel(tiny_config())
    weights = {k: v for k, v in m.state_dict().items() if not k.startswith("byte_decoder.")}
    torch.save({"config": m.config.to_dict(), "model": weights, "meta": {}}, tmp_path / "old.pt")
    old = load_model(tmp_path / "old.pt", device="cpu")
    assert old.meta["byte_decoder"] is False
    pol = InteractionModelPolicy(old, action_scales={"respond": 1e6}, attribution=False)
    assert pol.words == "head"
    d = pol.step(MicroTurn(seq=0, audio=torch.zeros(3200, dtype=torch.int16).numpy()))
    assert (
        d.action.value == "respond"
        and d.text in m.config.replies
        and d.info["words_from"] == "head"
    )
    # an untrained decoder asked to speak: whatever it spells is used, or the word head speaks
    pol = InteractionModelPolicy(
        old, action_scales={"respond": 1e6}, attribution=False, words="decoder"
    )
    d = pol.step(MicroTurn(seq=0, audio=torch.zeros(3200, dtype=torch.int16).numpy()))
    assert d.text and d.info["words_from"] in ("decoder", "head")
