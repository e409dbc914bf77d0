"""Video frames as patches: one small downscaled RGB frame per micro-turn, cut into squares.

A frame (H, W, 3) uint8 is resized with PIL to size x size (the aspect ratio is not kept: the
tasks here need coarse layout and motion, not shape), scaled to [0, 1] and cut into
(size / patch)^2 square patches in row-major order, each flattened as (patch, patch, 3):

    frame (H, W, 3) uint8 -> (n_patches, patch * patch * 3) float32, n_patches = (size/patch)^2

A micro-turn with no frame gets `blank_patches` (zeros) and a presence flag of False.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

DEFAULT_SIZE = 64  # pixels, side of the downscaled frame
DEFAULT_PATCH = 16  # pixels, side of one patch


def _check_grid(size: int, patch: int) -> int:
    if size <= 0 or patch <= 0 or size % patch:
        raise ValueError(f"size must be a positive multiple of patch, got size={size}, {patch=}")
    return (size // patch) ** 2


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8; (H, W) and (H, W, 1) grey are repeated, (H, W, 4) loses its alpha."""
    f = np.asarray(frame)
    if f.dtype != np.uint8:
        raise TypeError(f"frame must be uint8, got dtype {f.dtype}")
    if f.ndim == 2:
        f = f[:, :, None]
    if f.ndim != 3 or f.shape[2] not in (1, 3, 4):
        raise ValueError(f"frame must be (H, W, 3) RGB, got shape {f.shape}")
    if f.shape[0] == 0 or f.shape[1] == 0:
        raise ValueError(f"frame is empty: shape {f.shape}")
    if f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    return np.ascontiguousarray(f[:, :, :3])


def downscale(frame: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8 with PIL's antialiased bilinear filter."""
    img = Image.fromarray(_as_rgb(frame))
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR))


def frame_to_patches(
    frame: np.ndarray, size: int = DEFAULT_SIZE, patch: int = DEFAULT_PATCH
) -> np.ndarray:
    """(H, W, 3) uint8 frame -> (n_patches, patch * patch * 3) float32 in [0, 1]."""
    n = _check_grid(size, patch)
    small = downscale(frame, size).astype(np.float32) / 255.0  # (S, S, 3)
    g = size // patch
    grid = small.reshape(g, patch, g, patch, 3).transpose(0, 2, 1, 3, 4)  # (g, g, p, p, 3)
    return np.ascontiguousarray(grid.reshape(n, patch * patch * 3))


def patches_to_frame(patches: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """Inverse of the cutting step: (n_patches, p * p * 3) in [0, 1] -> (size, size, 3) uint8."""
    p = np.asarray(patches, dtype=np.float32)
    g = int(round(np.sqrt(p.shape[0])))
    patch = size // g
    if g * g != p.shape[0] or p.shape[1] != patch * patch * 3:
        raise ValueError(f"patches of shape {p.shape} do not tile a {size}x{size} frame")
    grid = p.reshape(g, g, patch, patch, 3).transpose(0, 2, 1, 3, 4).reshape(size, size, 3)
    return np.clip(np.round(grid * 255.0), 0, 255).astype(np.uint8)


def blank_patches(size: int = DEFAULT_SIZE, patch: int = DEFAULT_PATCH) -> np.ndarray:
    """Zeros shaped like `frame_to_patches` output, for a micro-turn without a frame."""
    return np.zeros((_check_grid(size, patch), patch * patch * 3), np.float32)


def microturn_patches(
    frames: Sequence[np.ndarray], size: int = DEFAULT_SIZE, patch: int = DEFAULT_PATCH
) -> tuple[np.ndarray, bool]:
    """Patches of the latest frame of a micro-turn (0..n frames) and whether there was one."""
    if len(frames) == 0:
        return blank_patches(size, patch), False
    return frame_to_patches(frames[-1], size, patch), True


def frames_to_tensor(
    frames: Sequence[np.ndarray | None],
    size: int = DEFAULT_SIZE,
    patch: int = DEFAULT_PATCH,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames (None = no frame) -> (patches (B, n_patches, D) float32, present (B,) bool)."""
    n = _check_grid(size, patch)
    out = np.zeros((len(frames), n, patch * patch * 3), np.float32)  # (B, N, D)
    present = np.zeros(len(frames), bool)  # (B,)
    for i, f in enumerate(frames):
        if f is not None:
            out[i] = frame_to_patches(f, size, patch)
            present[i] = True
    return torch.from_numpy(out).to(device), torch.from_numpy(present).to(device)
