"""The interaction model: an early-fusion causal transformer over micro-turns (nanoGPT style).

Layers bottom-up: positional helpers (RoPE, sinusoids), the per-modality embedders (dMel audio,
image, text bytes, time), attention and the block, then `InteractionModel` with a full-sequence
`forward` (training) and a streaming `step` (one micro-turn per call, KV cache, bounded memory).

Attention is *block-causal*: the S tokens of one micro-turn arrive together and see each other;
every token also sees all tokens of earlier micro-turns inside the window (the first
`sink_turns` micro-turns plus the last `ctx_turns - sink_turns`, the current one included).
Heads read the last token of each micro-turn (the text+state token).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nbduplex.model.byte_decoder import ByteDecoder
from nbduplex.model.config import N_FRAMES, N_LEVELS, N_MELS, TEXT_PAD, TEXT_VOCAB, ModelConfig
from nbduplex.model.inputs import TurnInputs
from nbduplex.model.kv_cache import SinkKVCache

# ---- positions -------------------------------------------------------------------------------


def rope_cos_sin(
    positions: torch.Tensor, head_dim: int, base: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables (..., N, head_dim/2) for integer positions (..., N), in float64."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = positions.to(torch.float64)[..., None] * inv.to(positions.device)
    return ang.cos().float(), ang.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (first half, second half) of x (B, H, N, Dh) by the angles (N, Dh/2)
    (shared by every row) or (B, N, Dh/2) (one table per row)."""
    if cos.dim() == 3:
        cos, sin = cos[:, None], sin[:, None]
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


def sinusoid(t: torch.Tensor, n_freqs: int, periods: tuple[float, float]) -> torch.Tensor:
    """Sinusoidal features of times in seconds: (...,) -> (..., 2 * n_freqs)."""
    lo, hi = periods
    p = torch.logspace(math.log10(lo), math.log10(hi), n_freqs, device=t.device)
    ang = 2 * math.pi * t[..., None].to(torch.float64) / p.to(torch.float64)
    return torch.cat([ang.sin(), ang.cos()], dim=-1).float()


# ---- embedders -------------------------------------------------------------------------------


class AudioEmbed(nn.Module):
    """dMel codes (B, T, 16, 80) -> audio tokens (B, T, A, C).

    Each (channel, code) pair has its own embedding; a frame is the sum over its 80 channels
    (an EmbeddingBag), and `audio_group` consecutive frames are concatenated and projected.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.group = cfg.audio_group
        e = cfg.d_model // 2
        self.bag = nn.EmbeddingBag(N_MELS * N_LEVELS, e, mode="sum")
        nn.init.normal_(self.bag.weight, std=0.02)
        self.register_buffer("offset", torch.arange(N_MELS) * N_LEVELS, persistent=False)
        self.proj = nn.Sequential(
            nn.Linear(self.group * e, cfg.d_model), nn.GELU(), nn.Linear(cfg.d_model, cfg.d_model)
        )

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        b, t = codes.shape[:2]
        idx = (codes.long() + self.offset).reshape(-1, N_MELS)  # (B*T*16, 80)
        frames = self.bag(idx).reshape(b, t, N_FRAMES // self.group, -1)  # (B, T, A, group*e)
        return self.proj(frames)  # (B, T, A, C)


class ImageEmbed(nn.Module):
    """A downscaled RGB frame (B, T, 3, S, S) -> one token (B, T, C): a small hierarchical
    patch MLP (4x4 patches, then 2x2 groups of them, as non-overlapping strided convs)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        c1, c2 = 16, 32
        self.net = nn.Sequential(
            nn.Conv2d(3, c1, 4, stride=4), nn.GELU(), nn.Conv2d(c1, c2, 2, stride=2), nn.GELU()
        )
        cells = (cfg.image_size // 8) ** 2
        self.proj = nn.Linear(c2 * cells, cfg.d_model)
        self.no_frame = nn.Parameter(torch.zeros(cfg.d_model))

    def forward(self, image: torch.Tensor, has_image: torch.Tensor) -> torch.Tensor:
        b, t = image.shape[:2]
        x = self.net(image.reshape(b * t, *image.shape[2:]) * 2 - 1)  # (B*T, c2, S/8, S/8)
        x = self.proj(x.flatten(1)).reshape(b, t, -1)  # (B, T, C)
        return torch.where(has_image[..., None], x, self.no_frame)


class TextEmbed(nn.Module):
    """Text tokens (B, T, L) -> one token (B, T, C): byte + position embeddings, two 1-D
    convolutions (so n-grams such as "in 5 seconds" are features), masked max-pool."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        e = cfg.d_model
        self.tok = nn.Embedding(TEXT_VOCAB, e)
        self.pos = nn.Parameter(torch.randn(cfg.max_text_bytes, e) * 0.02)
        self.conv1 = nn.Conv1d(e, e, 3, padding=1)
        self.conv2 = nn.Conv1d(e, e, 3, padding=1)
        self.proj = nn.Linear(e, cfg.d_model)
        self.no_text = nn.Parameter(torch.zeros(cfg.d_model))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        b, t, n = text.shape
        mask = text != TEXT_PAD  # (B, T, L)
        any_text = mask.any(dim=-1)  # (B, T)
        out = self.no_text.expand(b, t, -1).clone()  # (B, T, C)
        idx = any_text.flatten().nonzero()[:, 0]  # only micro-turns with text are encoded
        if idx.numel():
            tt, mm = text.reshape(b * t, n)[idx], mask.reshape(b * t, n)[idx]  # (K, L)
            x = (self.tok(tt) + self.pos).transpose(1, 2)  # (K, E, L)
            x = F.gelu(self.conv1(x))
            x = (x + F.gelu(self.conv2(x))).transpose(1, 2)  # (K, L, E)
            x = x.masked_fill(~mm[..., None], -1e4).amax(dim=1)  # (K, E)
            out = out.reshape(b * t, -1).index_copy(0, idx, self.proj(x).to(out.dtype))
        return out.reshape(b, t, -1)


class TimeEmbed(nn.Module):
    """Stream time and time since the last text event (B, T) -> (B, T, C)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n, self.periods = cfg.n_time_freqs, cfg.time_periods
        self.proj = nn.Sequential(
            nn.Linear(4 * cfg.n_time_freqs + 1, cfg.d_model),
            nn.GELU(),
            nn.Linear(cfg.d_model, cfg.d_model),
        )

    def forward(self, t: torch.Tensor, since_text: torch.Tensor) -> torch.Tensor:
        since = since_text.clamp(0, 60)
        feats = [sinusoid(t, self.n, self.periods), sinusoid(since, self.n, self.periods)]
        feats.append((since / 60)[..., None])
        return self.proj(torch.cat(feats, dim=-1))  # (B, T, C)


# ---- transformer -----------------------------------------------------------------------------


class Attention(nn.Module):
    """Multi-head self-attention with RoPE, block-causal over micro-turns, sinks + window."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.h, self.dh = cfg.n_heads, cfg.d_model // cfg.n_heads
        self.s, self.ctx, self.sinks = cfg.tokens_per_turn, cfg.ctx_turns, cfg.sink_turns
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.out = nn.Linear(cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.keep_attention = False  # step() stores its attention weights in .last_attention
        self.last_attention: torch.Tensor | None = None  # (B, H, S, C) cache-slot weights

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        return q, k, v  # each (B, H, N, Dh)

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        b, _, n, _ = y.shape
        return self.drop(self.out(y.transpose(1, 2).reshape(b, n, -1)))  # (B, N, C)

    def forward(self, x: torch.Tensor, rope: dict[str, torch.Tensor], chunk: int) -> torch.Tensor:
        """Full sequence x (B, T*S, C); queries processed `chunk` micro-turns at a time."""
        s, sk = self.s, self.sinks * self.s
        wt = self.ctx - self.sinks  # window micro-turns, the current one included
        q, k, v = self._split(x)
        qa = apply_rope(q, rope["cos_abs"], rope["sin_abs"])
        qc = apply_rope(q, rope["cos_cache"], rope["sin_cache"])
        k = apply_rope(k, rope["cos_abs"], rope["sin_abs"])
        n_turns = x.shape[1] // s
        turn = torch.arange(n_turns, device=x.device).repeat_interleave(s)  # (N,)
        outs = []
        for a in range(0, n_turns, chunk):
            b_ = min(n_turns, a + chunk)
            lo = max(self.sinks, a - wt + 1)  # first non-sink key turn any query here sees
            qt = turn[a * s : b_ * s]  # (n,)
            kt = turn[lo * s : b_ * s]  # (m,)
            recent = (kt[None] <= qt[:, None]) & (kt[None] > qt[:, None] - wt)  # (n, m)
            sink_ok = turn[:sk][None] <= qt[:, None]  # (n, k)
            scale = 1.0 / math.sqrt(self.dh)
            sc_r = qa[:, :, a * s : b_ * s] @ k[:, :, lo * s : b_ * s].transpose(-1, -2) * scale
            sc_s = qc[:, :, a * s : b_ * s] @ k[:, :, :sk].transpose(-1, -2) * scale
            sc = torch.cat([sc_s, sc_r], -1).masked_fill(
                ~torch.cat([sink_ok, recent], -1), float("-inf")
            )  # (B, H, n, k + m)
            vv = torch.cat([v[:, :, :sk], v[:, :, lo * s : b_ * s]], 2)  # (B, H, k + m, Dh)
            outs.append(sc.softmax(-1) @ vv)  # (B, H, n, Dh)
        return self._merge(torch.cat(outs, 2))

    def step(
        self, x: torch.Tensor, rope: dict[str, torch.Tensor], cache: SinkKVCache, layer: int
    ) -> torch.Tensor:
        """One micro-turn x (B, S, C) against the cache (which it extends)."""
        sk = cache.sink_tokens
        q, k, v = self._split(x)
        qa = apply_rope(q, rope["cos_abs"], rope["sin_abs"])
        qc = apply_rope(q, rope["cos_cache"], rope["sin_cache"])
        cache.write(layer, apply_rope(k, rope["cos_abs"], rope["sin_abs"]), v)
        kk, vv, valid = cache.read(layer)  # (B, H, C, Dh) x2, (B, C)
        scale = 1.0 / math.sqrt(self.dh)
        sc = torch.cat(
            [qc @ kk[:, :, :sk].transpose(-1, -2), qa @ kk[:, :, sk:].transpose(-1, -2)], -1
        )  # (B, H, S, C)
        att = (sc * scale).masked_fill(~valid[:, None, None], float("-inf")).softmax(-1)
        if self.keep_attention:
            self.last_attention = att.detach()
        return self._merge(att @ vv)


class Block(nn.Module):
    """Pre-norm transformer block: attention, then MLP."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn = Attention(cfg)
        hidden = cfg.mlp_ratio * cfg.d_model
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, hidden),
            nn.GELU(),
            nn.Linear(hidden, cfg.d_model),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor, rope: dict, chunk: int) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), rope, chunk)
        return x + self.mlp(self.ln2(x))

    def step(self, x: torch.Tensor, rope: dict, cache: SinkKVCache, layer: int) -> torch.Tensor:
        x = x + self.attn.step(self.ln1(x), rope, cache, layer)
        return x + self.mlp(self.ln2(x))


# ---- the model -------------------------------------------------------------------------------


@dataclass
class ModelOutput:
    """Per micro-turn outputs, read at the last token of each micro-turn."""

    action_logits: torch.Tensor  # (B, T, n_actions)
    reply_logits: torch.Tensor  # (B, T, n_replies)
    hidden: torch.Tensor  # (B, T, C) final hidden state of the text+state token


class InteractionModel(nn.Module):
    """Early-fusion streaming transformer: audio, image, text and time in; action and words out
    (the word head picks one of `config.replies`; `byte_decoder` spells words from `hidden`)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or ModelConfig()
        self.audio = AudioEmbed(cfg)
        self.image = ImageEmbed(cfg)
        self.text = TextEmbed(cfg)
        self.time = TimeEmbed(cfg)
        self.speaking = nn.Linear(1, cfg.d_model)
        self.slot = nn.Parameter(torch.randn(cfg.tokens_per_turn, cfg.d_model) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.action_head = nn.Linear(cfg.d_model, len(cfg.actions))
        self.reply_head = nn.Linear(cfg.d_model, len(cfg.replies))
        self.byte_decoder = ByteDecoder(cfg.d_model)  # spells the words (see byte_decoder.py)
        self._cache: SinkKVCache | None = None

    @property
    def device(self) -> torch.device:
        return self.slot.device

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def embed(self, x: TurnInputs) -> torch.Tensor:
        """Inputs -> tokens (B, T, S, C) in the order [audio.., image, text+state]."""
        audio = self.audio(x.codes)  # (B, T, A, C)
        image = self.image(x.image, x.has_image)[:, :, None]  # (B, T, 1, C)
        state = self.text(x.text) + self.speaking(x.speaking[..., None].float())  # (B, T, C)
        tok = torch.cat([audio, image, state[:, :, None]], dim=2)  # (B, T, S, C)
        return tok + self.slot + self.time(x.t, x.since_text)[:, :, None]

    def _rope(self, absolute: torch.Tensor, cache: torch.Tensor) -> dict[str, torch.Tensor]:
        dh, base = self.config.d_model // self.config.n_heads, self.config.rope_base
        ca, sa = rope_cos_sin(absolute, dh, base)
        cc, sc = rope_cos_sin(cache, dh, base)
        return {"cos_abs": ca, "sin_abs": sa, "cos_cache": cc, "sin_cache": sc}

    def _heads(self, h: torch.Tensor) -> ModelOutput:
        h = self.ln_f(h)  # (B, T, C)
        return ModelOutput(self.action_head(h), self.reply_head(h), h)

    def forward(self, x: TurnInputs, chunk_turns: int | None = None) -> ModelOutput:
        """All micro-turns of B sessions at once (training; or the reference for `step`)."""
        cfg = self.config
        b, t = x.shape
        s = cfg.tokens_per_turn
        tok = self.embed(x).reshape(b, t * s, -1)  # (B, T*S, C)
        pos = torch.arange(t * s, device=tok.device)
        cache_pos = (pos // s).clamp(max=cfg.ctx_turns - 1) * s + pos % s
        rope = self._rope(pos, cache_pos)
        chunk = chunk_turns or cfg.ctx_turns
        for blk in self.blocks:
            tok = blk(tok, rope, chunk)
        return self._heads(tok.reshape(b, t, s, -1)[:, :, -1])

    # ---- streaming ---------------------------------------------------------------------------

    @contextmanager
    def streaming(self, batch_size: int = 1) -> Iterator[InteractionModel]:
        """Hold a fresh KV cache for `batch_size` sessions stepped together; `step()` inside.

        Several sessions may share one model (two policies, say): each keeps the cache it got
        here and swaps it in with `model.cache = cache` before stepping; leaving a context
        releases only its own cache."""
        cfg = self.config
        cache = self._cache = SinkKVCache(
            n_layers=cfg.n_layers,
            batch=batch_size,
            n_heads=cfg.n_heads,
            head_dim=cfg.d_model // cfg.n_heads,
            tokens_per_turn=cfg.tokens_per_turn,
            sink_turns=cfg.sink_turns,
            ctx_turns=cfg.ctx_turns,
            device=self.device,
        )
        try:
            yield self
        finally:
            if self._cache is cache:
                self._cache = None

    @property
    def cache(self) -> SinkKVCache | None:
        """The KV cache while inside `streaming()`, else None."""
        return self._cache

    @cache.setter
    def cache(self, cache: SinkKVCache | None) -> None:
        """Swap in a session's cache (from an open `streaming()` context) before `step()`."""
        self._cache = cache

    def reset_sessions(self, rows: list[int]) -> None:
        """Inside `streaming()`: start new sessions in `rows`; the other rows go on."""
        if self._cache is None:
            raise RuntimeError("reset_sessions() needs `with model.streaming(batch_size):`")
        self._cache.reset(rows)

    def step(self, x: TurnInputs) -> ModelOutput:
        """One micro-turn (T == 1) of every session in the streaming batch -> outputs (B, 1, .)."""
        cache = self._cache
        if cache is None:
            raise RuntimeError("step() needs `with model.streaming(batch_size):`")
        b, t = x.shape
        if t != 1 or b != cache.batch:
            raise ValueError(f"step() takes (B={cache.batch}, T=1) inputs, got (B={b}, T={t})")
        tok = self.embed(x)[:, 0]  # (B, S, C)
        rope = self._rope(*cache.positions())
        for i, blk in enumerate(self.blocks):
            tok = blk.step(tok, rope, cache, i)
        cache.advance()
        return self._heads(tok[:, -1:])
