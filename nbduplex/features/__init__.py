"""Feature extractors: audio as dMel codes, video frames as patches, text as bytes.

dmel_codes(audio (n,) int16) -> (n // 200, 80) uint8 codes 0..15   (80 frames/s)
StreamingDMel().push(chunk (3200,)) -> (16, 80) uint8              (== offline, causal)
frame_to_patches(frame (H, W, 3) uint8) -> (16, 768) float32 in [0, 1]
text_to_bytes(text, max_len) -> (n,) uint8 ; encode_text_tokens(...) -> int64 with BOS/EOS/PAD
"""

from nbduplex.features.dmel import (
    DEFAULT_CONFIG,
    DMelConfig,
    StreamingDMel,
    dmel_codes,
    dmel_codes_numpy,
    dmel_codes_torch,
    dmel_levels,
    dmel_log_mel_numpy,
    dmel_log_mel_torch,
    quantise_log_mel,
    quantise_log_mel_torch,
)
from nbduplex.features.mel import hz_to_mel, mel_filterbank, mel_to_hz
from nbduplex.features.patches import (
    blank_patches,
    downscale,
    frame_to_patches,
    frames_to_tensor,
    microturn_patches,
    patches_to_frame,
)
from nbduplex.features.text_bytes import (
    BOS,
    EOS,
    PAD,
    VOCAB_SIZE,
    bytes_to_text,
    decode_text_tokens,
    encode_text_tokens,
    text_to_bytes,
)

__all__ = [
    "BOS",
    "DEFAULT_CONFIG",
    "EOS",
    "PAD",
    "VOCAB_SIZE",
    "DMelConfig",
    "StreamingDMel",
    "blank_patches",
    "bytes_to_text",
    "decode_text_tokens",
    "dmel_codes",
    "dmel_codes_numpy",
    "dmel_codes_torch",
    "dmel_levels",
    "dmel_log_mel_numpy",
    "dmel_log_mel_torch",
    "downscale",
    "encode_text_tokens",
    "frame_to_patches",
    "frames_to_tensor",
    "hz_to_mel",
    "mel_filterbank",
    "mel_to_hz",
    "microturn_patches",
    "patches_to_frame",
    "quantise_log_mel",
    "quantise_log_mel_torch",
    "text_to_bytes",
]
