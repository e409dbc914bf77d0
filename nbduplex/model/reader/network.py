"""The instruction reader's network: log-mel -> strided convolutions -> BiGRU -> one attention
pooling and classifier per output ("template" and each slot of the grammar).

It reads a whole candidate utterance at once (a few ms on one CPU thread for 3 s of speech); the
confidence of a reading is p(template) times p(slot) for each slot the template uses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from nbduplex.features.dmel import dmel_log_mel_numpy
from nbduplex.scenarios.commands import SLOTS, TEMPLATES, VOCAB, Command


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(frames, 80) float16 log-mel of int16 audio, normalised per utterance (mean 0, std 1)."""
    return normalise_log_mel(dmel_log_mel_numpy(audio))


def normalise_log_mel(m: np.ndarray) -> np.ndarray:
    """(frames, 80) float16: raw log-mel frames normalised per utterance (mean 0, std 1)."""
    m = (m - m.mean(0)) / (m.std(0) + 0.1)
    return m.astype(np.float16)


OUTPUTS = {"template": len(TEMPLATES), **{slot: len(v) for slot, v in VOCAB.items()}}


@dataclass
class ReaderConfig:
    """Sizes of the reader network."""

    n_mels: int = 80
    channels: int = 192  # convolution width
    hidden: int = 128  # GRU units per direction
    layers: int = 2
    dropout: float = 0.1

    def to_dict(self) -> dict:
        """JSON-able dict."""
        return asdict(self)


class _Pool(nn.Module):
    """Attention pooling over time, then a linear classifier."""

    def __init__(self, dim: int, n_out: int) -> None:
        super().__init__()
        self.score = nn.Linear(dim, 1)
        self.out = nn.Linear(dim, n_out)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s = self.score(h).squeeze(-1).masked_fill(~mask, float("-inf"))  # (B, T)
        return self.out((s.softmax(-1).unsqueeze(-1) * h).sum(1))


class ReaderNet(nn.Module):
    """(B, T, n_mels) features + lengths -> {output name: (B, classes) logits}.

    `outputs` ({name: classes}) defaults to the instruction grammar's; the turn-end detector
    (model/turn_end/) uses the same network with one two-class output.
    """

    def __init__(
        self, config: ReaderConfig | None = None, outputs: dict[str, int] | None = None
    ) -> None:
        super().__init__()
        self.config = c = config or ReaderConfig()
        outputs = OUTPUTS if outputs is None else outputs
        self.conv = nn.ModuleList([
            nn.Conv1d(c.n_mels, c.channels, 5, stride=2, padding=2),
            nn.Conv1d(c.channels, c.channels, 5, stride=2, padding=2),
        ])  # fmt: skip
        self.gru = nn.GRU(
            c.channels, c.hidden, c.layers, batch_first=True, bidirectional=True,
            dropout=c.dropout if c.layers > 1 else 0.0,
        )  # fmt: skip
        self.drop = nn.Dropout(c.dropout)
        self.heads = nn.ModuleDict({k: _Pool(2 * c.hidden, n) for k, n in outputs.items()})

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        steps = lengths.to(x.device)
        h = (
            x.transpose(1, 2)
            * (torch.arange(x.shape[1], device=x.device) < steps[:, None])[:, None]
        )
        for conv in self.conv:  # what lies past a row's length is zeroed, as in a batch of one
            h, steps = nn.functional.gelu(conv(h)), (steps + 1) // 2
            mask = torch.arange(h.shape[2], device=x.device)[None] < steps[:, None]
            h = h * mask[:, None]
        h = h.transpose(1, 2)  # (B, T/4, C)
        steps = steps.clamp(1, h.shape[1])
        packed = nn.utils.rnn.pack_padded_sequence(h, steps.cpu(), batch_first=True,
                                                   enforce_sorted=False)  # fmt: skip
        h, _ = self.gru(packed)  # padding never enters the recurrence (batch == one by one)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=mask.shape[1])
        h = self.drop(h)
        return {k: head(h, mask) for k, head in self.heads.items()}

    @torch.inference_mode()
    def read(self, features: np.ndarray) -> tuple[Command | None, float]:
        """(the instruction, confidence) for one (T, n_mels) utterance; None for "none"."""
        x = torch.as_tensor(np.asarray(features, np.float32))[None]
        out = self(x, torch.tensor([x.shape[1]]))
        p = {k: v[0].float().softmax(-1) for k, v in out.items()}
        i = int(p["template"].argmax())
        template, conf = TEMPLATES[i], float(p["template"][i])
        if template == "none":
            return None, conf
        slots = {}
        for slot in SLOTS[template]:
            j = int(p[slot].argmax())
            slots[slot] = VOCAB[slot][j]
            conf *= float(p[slot][j])
        return Command(template, **slots), conf
