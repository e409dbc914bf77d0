"""Attribution of the interaction model's latest decision.

The attention mass that the decision token (the last token of the micro-turn)
puts on each cache slot in the last layer, averaged over heads and summed per modality
("audio", "video", "text") and per time range before the decision ("time[-0.2s,0s]",
"time[-1s,-0.2s]", "time[-5s,-1s]", "time[<-5s]"). The time embedding is added to every token,
so attention mass cannot separate it from the modality it rides on.
"""

from __future__ import annotations

import torch

from nbduplex.microturn import MICROTURN_S
from nbduplex.model.model import InteractionModel

TIME_RANGES = ((0.2, "time[-0.2s,0s]"), (1.0, "time[-1s,-0.2s]"), (5.0, "time[-5s,-1s]"))


def attention_attribution(model: InteractionModel) -> dict[str, float]:
    """What drove the decision of the micro-turn just stepped ({} before any step)."""
    cache = model.cache
    att = model.blocks[-1].attn.last_attention
    if cache is None or att is None:
        return {}
    w = att[0, :, -1].mean(0).cpu()  # (C,) attention of the decision token
    s = model.config.tokens_per_turn
    slot_kind = torch.arange(cache.size) % s  # 0..A-1 audio, A image, A+1 text+state
    a = model.config.audio_tokens
    out = {
        "audio": float(w[slot_kind < a].sum()),
        "video": float(w[slot_kind == a].sum()),
        "text": float(w[slot_kind == a + 1].sum()),
    }
    owner = cache.owner[0]
    age = (cache.turn - 1 - owner).float() * MICROTURN_S  # seconds before this turn
    lo = -1.0
    for hi, key in TIME_RANGES:
        out[key] = float(w[(age > lo) & (age < hi - 1e-6) & (owner >= 0)].sum())
        lo = hi - 1e-6
    out["time[<-5s]"] = float(w[(age >= 5.0 - 1e-6) & (owner >= 0)].sum())
    return out
