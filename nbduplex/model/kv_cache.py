"""A preallocated KV cache with attention sinks and a sliding window (bounded memory).

Layout of the `C = config.cache_tokens` slots of every layer:

    [ sink slots: the first `sink_turns` micro-turns, kept forever | ring: the last W tokens ]

Each `step()` writes one micro-turn (`S` tokens) of every session; when the ring is full the
oldest micro-turn is overwritten, so memory never grows, however long the session.

Positions (RoPE, counted in tokens). Keys are rotated once, at their absolute position, when
written. A query at absolute position `p` is rotated at `p` for the ring keys, so the distance to
a recent key is its true distance; for the sink keys it is rotated at its *cache* position
`min(turn, ctx_turns - 1) * S + slot` (StreamingLLM: positions inside the cache), so the
distance to a sink never exceeds what the model saw while training on `ctx_turns` micro-turns.
`InteractionModel.forward` applies exactly the same rule, so stepping and a full pass agree at
any length, including past the training context.
"""

from __future__ import annotations

import torch


class SinkKVCache:
    """Keys and values of all layers for B sessions stepped together, plus the step counter."""

    def __init__(
        self,
        *,
        n_layers: int,
        batch: int,
        n_heads: int,
        head_dim: int,
        tokens_per_turn: int,
        sink_turns: int,
        ctx_turns: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.batch = batch
        self.tokens_per_turn = tokens_per_turn  # S
        self.sink_turns = sink_turns
        self.ctx_turns = ctx_turns
        self.sink_tokens = sink_turns * tokens_per_turn  # k
        self.size = ctx_turns * tokens_per_turn  # C = k + W
        self.window_tokens = self.size - self.sink_tokens  # W
        shape = (n_layers, batch, n_heads, self.size, head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)  # (L, B, H, C, Dh)
        self.v = torch.zeros(shape, device=device, dtype=dtype)  # (L, B, H, C, Dh)
        self.valid = torch.zeros(self.size, dtype=torch.bool, device=device)  # (C,)
        self.owner = torch.full((self.size,), -1, dtype=torch.long)  # (C,) micro-turn per slot
        self.turn = 0  # micro-turns appended so far

    # ---- where the current micro-turn goes -------------------------------------------------

    def slots(self) -> slice:
        """Cache slots of the current micro-turn's S tokens."""
        s = self.tokens_per_turn
        if self.turn < self.sink_turns:
            start = self.turn * s
        else:
            start = self.sink_tokens + ((self.turn - self.sink_turns) * s) % self.window_tokens
        return slice(start, start + s)

    def positions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(absolute, cache) positions of the current micro-turn's S tokens, each (S,) int64."""
        s = self.tokens_per_turn
        slot = torch.arange(s, device=self.valid.device)
        absolute = self.turn * s + slot
        cache = min(self.turn, self.ctx_turns - 1) * s + slot
        return absolute, cache

    # ---- reading and writing -------------------------------------------------------------

    def write(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store this micro-turn's keys/values (B, H, S, Dh) of one layer (detached)."""
        sl = self.slots()
        self.k[layer, :, :, sl] = k.detach().to(self.k.dtype)
        self.v[layer, :, :, sl] = v.detach().to(self.v.dtype)
        if layer == 0:
            self.valid[sl] = True
            self.owner[sl] = self.turn

    def read(self, layer: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(keys, values, valid) of one layer: (B, H, C, Dh), (B, H, C, Dh), (C,)."""
        return self.k[layer], self.v[layer], self.valid

    def advance(self) -> None:
        """Finish the current micro-turn (call once after every layer has written)."""
        self.turn += 1

    def reset(self) -> None:
        """Forget everything (same memory)."""
        self.valid.zero_()
        self.owner.fill_(-1)
        self.turn = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by keys and values (constant for the cache's lifetime)."""
        return self.k.numel() * self.k.element_size() * 2
