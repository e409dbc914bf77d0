"""The interaction model's configuration: sizes, token layout and the streaming window.

One micro-turn (200 ms) becomes `tokens_per_turn` tokens, always in this order:

    [audio_0 .. audio_{A-1}, image, text+state]

- audio: the 16 dMel frames x 80 codes of the chunk, grouped `audio_group` frames per token
  (A = 16 / audio_group tokens);
- image: one token from the newest downscaled frame (a learned "no frame" token when absent);
- text+state: the bytes of the text that arrived in the chunk (user typing, agent results, the
  model's own words) pooled into one token, plus the "model is speaking" flag. It is last, so
  the heads read it: it has seen every other token of the micro-turn.

A time embedding (absolute stream seconds and seconds since the last text event, sinusoidal)
is added to every token of the micro-turn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from nbduplex.decision import ACTIONS

N_FRAMES = 16  # dMel frames per micro-turn (200 ms / 12.5 ms hop)
N_MELS = 80  # dMel channels
N_LEVELS = 16  # dMel quantisation levels (codes 0..15)
N_ROLES = 4  # text roles: user, agent, model, system
TEXT_VOCAB = 256 + 1 + N_ROLES  # bytes, pad (256), role markers (257..260)
TEXT_PAD = 256

BACKCHANNEL_REPLIES = (
    "mm-hm",
    "yeah",
    "right",
    "uh-huh",
    "okay",
    "I see",
)  # short acknowledgements

# Short things the model can say. Index 0 means "nothing". The word head picks one per
# micro-turn (a classifier; the byte decoder in byte_decoder.py spells words instead, and is
# trained on these same texts). The list covers what the scenario generator expects
# (nbduplex.scenarios.text); "@agent" means "say the latest agent result" (delegated tasks).
DEFAULT_REPLIES: tuple[str, ...] = (
    "",
    # answers at a turn end (full sentences: >= 4 words, >= 1 s spoken; FD-bench's TOR rule)
    "Okay, I see what you mean.", "That sounds like a good plan.", "Sure, tell me a bit more.",
    "Got it, thanks for telling me.", "I understand, that makes sense.",
    "That makes a lot of sense.", "Right, please go on then.",
    # after a barge-in
    "Sorry, please go ahead then.", "Oh, okay, I am listening.", "Sure, take your time, go on.",
    # back-channels
    *BACKCHANNEL_REPLIES,
    # words to say at a time or a cue
    "go", "stop", "now", "tick", "ping", "hello", "yes", "beep", "ready", "done",
    # counting
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve",
    # a visual event, an agent result
    "I see something.", "@agent",
)  # fmt: skip


@dataclass
class ModelConfig:
    """Sizes of the interaction model and of its streaming window."""

    d_model: int = 128  # channels of every token
    n_layers: int = 4  # transformer blocks
    n_heads: int = 4  # attention heads (d_model % n_heads == 0)
    mlp_ratio: int = 4  # hidden width of the MLP / d_model
    dropout: float = 0.0  # dropout on attention output and MLP (training only)
    audio_group: int = 8  # dMel frames per audio token (divides 16): 8 -> 2 audio tokens
    image_size: int = 32  # frames are downscaled to image_size x image_size RGB pixels
    max_text_bytes: int = 48  # bytes of text per micro-turn (longer text is cut)
    ctx_turns: int = 96  # micro-turns held in the KV cache = training context (19.2 s)
    sink_turns: int = 1  # first micro-turns kept forever (attention sink)
    rope_base: float = 10_000.0  # RoPE base, positions counted in tokens
    time_periods: tuple[float, float] = (0.4, 80.0)  # seconds, shortest / longest sinusoid
    n_time_freqs: int = 16  # sinusoid frequencies per time feature
    replies: tuple[str, ...] = field(default=DEFAULT_REPLIES)  # word-head vocabulary
    actions: tuple[str, ...] = field(default=ACTIONS)  # action-head classes, in order

    def __post_init__(self) -> None:
        self.replies = tuple(self.replies)
        self.actions = tuple(self.actions)
        self.time_periods = tuple(self.time_periods)  # type: ignore[assignment]
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError("d_model / n_heads must be an even integer (RoPE pairs channels)")
        if N_FRAMES % self.audio_group:
            raise ValueError(f"audio_group must divide {N_FRAMES}, got {self.audio_group}")
        if not 0 <= self.sink_turns < self.ctx_turns:
            raise ValueError("need 0 <= sink_turns < ctx_turns")
        if self.image_size % 8:
            raise ValueError("image_size must be a multiple of 8")
        if not self.replies or self.replies[0] != "":
            raise ValueError('replies[0] must be "" (say nothing)')

    @property
    def audio_tokens(self) -> int:
        """Audio tokens per micro-turn."""
        return N_FRAMES // self.audio_group

    @property
    def tokens_per_turn(self) -> int:
        """Tokens per micro-turn: audio tokens, one image token, one text+state token."""
        return self.audio_tokens + 2

    @property
    def cache_tokens(self) -> int:
        """Tokens the KV cache holds (sinks + sliding window)."""
        return self.ctx_turns * self.tokens_per_turn

    @property
    def sink_tokens(self) -> int:
        """Tokens kept forever at the start of the cache."""
        return self.sink_turns * self.tokens_per_turn

    def to_dict(self) -> dict:
        """A JSON-able dict (stored in checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Inverse of `to_dict`, ignoring unknown keys."""
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def tiny_config() -> ModelConfig:
    """A very small configuration for tests and golden tensors."""
    return ModelConfig(
        d_model=32, n_layers=2, n_heads=2, image_size=16, max_text_bytes=16, ctx_turns=8
    )
