"""The byte decoder: spells what the model says, one UTF-8 byte at a time.

It reads the decision token's final hidden state (the text+state token of the micro-turn) and
the speech action taken (respond / back-channel / interject), and writes bytes until EOS with a
one-layer GRU:

    h, action -> initial state and a per-step condition -> GRU over [BOS, b1, b2, ...] -> bytes

Trained teacher-forced next to the action head (`nbduplex train`, loss weight `byte_weight`),
or alone on a frozen trunk (`nbduplex train --decoder-only`). Decoding is greedy and bounded
(`max_bytes`). The literal "@agent" means "say the latest agent result", as in the reply list.
The word head (a classifier over `ModelConfig.replies`) stays as a fallback and for
comparison (`InteractionModelPolicy(words=...)`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

BOS, EOS = 256, 257
VOCAB = 258  # bytes, BOS, EOS
SPEECH_ACTIONS = ("respond", "backchannel", "interject")  # the actions that have words


class ByteDecoder(nn.Module):
    """(hidden (N, C), action index (N,)) -> bytes; action indexes `SPEECH_ACTIONS`."""

    def __init__(self, d_model: int, hidden: int = 192, max_bytes: int = 64) -> None:
        super().__init__()
        self.max_bytes = max_bytes
        self.action = nn.Embedding(len(SPEECH_ACTIONS), d_model)
        self.init = nn.Linear(d_model, hidden)
        self.cond = nn.Linear(d_model, hidden)
        self.emb = nn.Embedding(VOCAB, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, VOCAB)

    def _context(self, h: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return h.float() + self.action(action)

    def forward(self, h: torch.Tensor, action: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (N, L, VOCAB) for input tokens (N, L) that start with BOS."""
        c = self._context(h, action)
        x = self.emb(tokens) + self.cond(c)[:, None]
        y, _ = self.gru(x, torch.tanh(self.init(c))[None])
        return self.out(y)

    def loss(self, h: torch.Tensor, action: torch.Tensor, texts: list[str]) -> torch.Tensor:
        """Mean cross-entropy per byte of `texts` (+ EOS) given (h, action)."""
        inp, tgt = encode_targets(texts, self.max_bytes, h.device)
        logits = self(h, action, inp)
        return F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=-100)

    @torch.no_grad()
    def generate(self, h: torch.Tensor, action: torch.Tensor) -> list[str]:
        """Greedy decoding: (N, C), (N,) -> N strings (invalid UTF-8 is dropped)."""
        c = self._context(h, action)
        state = torch.tanh(self.init(c))[None]
        cond = self.cond(c)
        tok = torch.full((h.shape[0],), BOS, dtype=torch.long, device=h.device)
        out: list[list[int]] = [[] for _ in range(h.shape[0])]
        done = torch.zeros(h.shape[0], dtype=torch.bool, device=h.device)
        for _ in range(self.max_bytes):
            y, state = self.gru((self.emb(tok) + cond)[:, None], state)
            logits = self.out(y[:, 0])
            logits[:, BOS] = -torch.inf
            tok = logits.argmax(-1)
            done |= tok == EOS
            if bool(done.all()):
                break
            for i in torch.nonzero(~done).flatten().tolist():
                out[i].append(int(tok[i]))
        return [bytes(b).decode("utf-8", errors="ignore") for b in out]


def encode_targets(
    texts: list[str], max_bytes: int, device: torch.device | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Texts -> (inputs [BOS, bytes..], targets [bytes.., EOS]), both (N, L) padded with
    EOS / -100; texts longer than `max_bytes` - 1 bytes are cut."""
    seqs = [list(t.encode("utf-8"))[: max_bytes - 1] for t in texts]
    n = max((len(s) for s in seqs), default=0) + 1
    inp = torch.full((len(seqs), n), EOS, dtype=torch.long)
    tgt = torch.full((len(seqs), n), -100, dtype=torch.long)
    for i, s in enumerate(seqs):
        inp[i, 0] = BOS
        inp[i, 1 : len(s) + 1] = torch.tensor(s, dtype=torch.long)
        tgt[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        tgt[i, len(s)] = EOS
    return inp.to(device), tgt.to(device)
