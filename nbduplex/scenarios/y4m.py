"""Write RGB frames as a YUV4MPEG2 (.y4m) file: 4:2:0 (`C420jpeg` chroma siting), BT.601.

Samples are in the limited ("TV", Y 16-235) range, which is what ffmpeg/PyAV and Chromium's
`--use-file-for-fake-video-capture` assume for a y4m without a colour-range tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def rgb_to_i420(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB with even H and W -> I420 planes (Y, then U and V at half size)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"y4m 4:2:0 needs even width and height, got {w}x{h}")
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0
    u = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0
    v = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0

    def sub(c: np.ndarray) -> np.ndarray:  # (H, W) -> (H/2, W/2) by 2x2 averaging
        return c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    planes = [y, sub(u), sub(v)]
    return b"".join(np.clip(np.round(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path: str | Path, frames: Iterable[np.ndarray], fps: int = 5) -> int:
    """Write frames (all the same even size) to `path`; returns the number written.

    With no frames nothing can define the size, so a ValueError is raised.
    """
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError("write_y4m needs at least one frame")
    h, w = first.shape[:2]
    n = 0
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{int(fps)}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in [first, *it]:
            if frame.shape[:2] != (h, w):
                raise ValueError(f"frame {n} is {frame.shape[:2]}, expected {(h, w)}")
            fh.write(b"FRAME\n")
            fh.write(rgb_to_i420(frame))
            n += 1
    return n
