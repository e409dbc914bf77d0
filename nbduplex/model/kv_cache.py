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

Rows are independent sessions: each has its own micro-turn counter, so `reset(rows)` starts a
new session in some rows while the others go on (a server whose users come and go).
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
        self.valid = torch.zeros(batch, self.size, dtype=torch.bool, device=device)  # (B, C)
        self.owner = torch.full((batch, self.size), -1, dtype=torch.long)  # (B, C) micro-turn
        self.turns = torch.zeros(batch, dtype=torch.long)  # (B,) micro-turns appended per row
        self._where: tuple[torch.Tensor, slice | None] | None = None  # this turn's slots

    @property
    def turn(self) -> int:
        """Micro-turns appended so far (rows in lockstep; else the first row's count)."""
        return int(self.turns[0])

    # ---- where the current micro-turn goes -------------------------------------------------

    def slots(self) -> torch.Tensor:
        """Cache slots of the current micro-turn's S tokens, per row: (B, S) int64."""
        return self._current()[0]

    def _current(self) -> tuple[torch.Tensor, slice | None]:
        """(slots (B, S), the same as one slice when every row is at the same micro-turn)."""
        if self._where is None:
            s = self.tokens_per_turn
            t = self.turns
            ring = self.sink_tokens + ((t - self.sink_turns).clamp(min=0) * s) % self.window_tokens
            start = torch.where(t < self.sink_turns, t * s, ring)
            lockstep = bool((t == t[0]).all())
            first = int(start[0])
            self._where = (
                start[:, None] + torch.arange(s),
                slice(first, first + s) if lockstep else None,
            )
        return self._where

    def positions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(absolute, cache) positions of the current micro-turn's S tokens, each (B, S) int64."""
        s = self.tokens_per_turn
        slot = torch.arange(s)
        absolute = self.turns[:, None] * s + slot
        cache = self.turns.clamp(max=self.ctx_turns - 1)[:, None] * s + slot
        dev = self.valid.device
        return absolute.to(dev), cache.to(dev)

    # ---- reading and writing -------------------------------------------------------------

    def write(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store this micro-turn's keys/values (B, H, S, Dh) of one layer (detached)."""
        sl, cols = self._current()
        if cols is not None:  # lockstep: one slice for all rows
            self.k[layer, :, :, cols] = k.detach().to(self.k.dtype)
            self.v[layer, :, :, cols] = v.detach().to(self.v.dtype)
        else:
            for b in range(self.batch):
                idx = sl[b].to(self.k.device)
                self.k[layer, b].index_copy_(1, idx, k[b].detach().to(self.k.dtype))
                self.v[layer, b].index_copy_(1, idx, v[b].detach().to(self.v.dtype))
        if layer == 0:
            rows = torch.arange(self.batch)[:, None]
            self.valid[rows.to(self.valid.device), sl.to(self.valid.device)] = True
            self.owner[rows, sl] = self.turns[:, None]

    def read(self, layer: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(keys, values, valid) of one layer: (B, H, C, Dh), (B, H, C, Dh), (B, C)."""
        return self.k[layer], self.v[layer], self.valid

    def advance(self) -> None:
        """Finish the current micro-turn (call once after every layer has written)."""
        self.turns += 1
        self._where = None

    def reset(self, rows: list[int] | None = None) -> None:
        """Forget everything (same memory), or only the sessions in `rows`, which start anew."""
        sel = slice(None) if rows is None else torch.as_tensor(list(rows), dtype=torch.long)
        if rows is not None and len(sel) and not 0 <= int(sel.min()) <= int(sel.max()) < self.batch:
            raise IndexError(f"rows {list(rows)} out of range for a batch of {self.batch}")
        self.valid[sel] = False
        self.owner[sel] = -1
        self.turns[sel] = 0
        self._where = None

    @property
    def nbytes(self) -> int:
        """Bytes held by keys and values (constant for the cache's lifetime)."""
        return self.k.numel() * self.k.element_size() * 2
