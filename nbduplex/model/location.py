"""Where the shipped checkpoint lives, and whether it is there (no torch import: cheap)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "default.pt"


def checkpoint_available(path: str | Path | None = None) -> bool:
    """True when the (default) checkpoint file exists (a path check; nothing is loaded)."""
    return Path(path or DEFAULT_CHECKPOINT).is_file()
