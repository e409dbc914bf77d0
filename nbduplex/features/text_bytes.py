"""Text as UTF-8 bytes: no tokenizer, nothing to download.

Byte ids 0..255 are the UTF-8 bytes themselves. The token variant adds three special ids:

    BOS = 256  begin of a text span
    EOS = 257  end of a text span
    PAD = 258  padding (ignored when decoding)
    VOCAB_SIZE = 259

Truncation never splits a character: it backs off to the start of the last whole code point
(combining marks may still be separated from their base letter).
"""

from __future__ import annotations

import numpy as np

BOS = 256  # begin-of-text token id
EOS = 257  # end-of-text token id
PAD = 258  # padding token id
VOCAB_SIZE = 259  # byte values 0..255 plus BOS, EOS, PAD


def _utf8_prefix(data: bytes, max_len: int | None) -> bytes:
    """The longest prefix of `data` of at most max_len bytes that ends on a character boundary."""
    if max_len is None or len(data) <= max_len:
        return data
    if max_len < 0:
        raise ValueError(f"max_len must be >= 0, got {max_len}")
    cut = max_len
    while cut > 0 and (data[cut] & 0xC0) == 0x80:  # data[cut] continues a character
        cut -= 1
    return data[:cut]


def text_to_bytes(text: str, max_len: int | None = None) -> np.ndarray:
    """str -> (n,) uint8 UTF-8 bytes, n <= max_len, cut at a character boundary.

    Lone surrogates (which UTF-8 cannot encode) become '?'.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    data = _utf8_prefix(text.encode("utf-8", errors="replace"), max_len)
    return np.frombuffer(data, dtype=np.uint8).copy()


def bytes_to_text(arr: np.ndarray | bytes | list[int]) -> str:
    """Byte ids -> str. Ids >= 256 (specials) are dropped; invalid UTF-8 becomes U+FFFD."""
    if isinstance(arr, bytes | bytearray):
        return bytes(arr).decode("utf-8", errors="replace")
    a = np.asarray(arr)
    if a.size and a.dtype.kind not in "iu":
        raise TypeError(f"byte ids must be integers, got dtype {a.dtype}")
    a = a.reshape(-1).astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError("byte ids must be >= 0")
    return a[a < 256].astype(np.uint8).tobytes().decode("utf-8", errors="replace")


def encode_text_tokens(
    text: str,
    max_len: int | None = None,
    *,
    bos: bool = True,
    eos: bool = True,
    pad_to: int | None = None,
) -> np.ndarray:
    """str -> (n,) int64 token ids: [BOS] bytes... [EOS] [PAD...].

    `max_len` bounds the whole sequence (specials included); the text is cut at a character
    boundary to fit. `pad_to` right-pads with PAD to that length (>= the sequence length).
    """
    n_special = int(bos) + int(eos)
    if max_len is not None and max_len < n_special:
        raise ValueError(f"max_len={max_len} leaves no room for the special tokens")
    body = text_to_bytes(text, None if max_len is None else max_len - n_special)
    ids = np.concatenate([[BOS] if bos else [], body, [EOS] if eos else []]).astype(np.int64)
    if pad_to is not None:
        if pad_to < ids.size:
            raise ValueError(f"pad_to={pad_to} is shorter than the sequence ({ids.size})")
        ids = np.concatenate([ids, np.full(pad_to - ids.size, PAD, np.int64)])
    return ids


def decode_text_tokens(tokens: np.ndarray | list[int]) -> str:
    """Token ids -> str: starts after a leading BOS, stops at the first EOS, skips PAD."""
    t = np.asarray(tokens).reshape(-1)
    if t.size and t.dtype.kind not in "iu":
        raise TypeError(f"token ids must be integers, got dtype {t.dtype}")
    t = t.astype(np.int64)
    if t.size and (t.min() < 0 or t.max() >= VOCAB_SIZE):
        raise ValueError(f"token ids must be in 0..{VOCAB_SIZE - 1}")
    end = np.flatnonzero(t == EOS)
    t = t[: end[0]] if end.size else t
    return bytes_to_text(t[t < 256])
