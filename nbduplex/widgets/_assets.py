"""Find the widgets' JavaScript (plain ES modules) in a wheel or in a source checkout.

A wheel ships `widgets/*.js` as `nbduplex/_widgets/`; an editable install reads the repository's
`widgets/` directory next to the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # .../nbduplex
_CANDIDATES = (_PACKAGE / "_widgets", _PACKAGE.parent / "widgets")


def asset_dir() -> Path:
    """The directory holding the widget modules (wheel first, then the source checkout)."""
    for d in _CANDIDATES:
        if (d / "capture.js").is_file():
            return d
    raise FileNotFoundError(
        "nbduplex widget JavaScript not found in " + " or ".join(str(d) for d in _CANDIDATES)
    )


@cache
def asset(name: str) -> str:
    """One widget module, e.g. `asset("timeline.js")`, with `common.js` (shared helpers) first."""
    d = asset_dir()
    common = (d / "common.js").read_text(encoding="utf-8")
    return common + "\n" + (d / name).read_text(encoding="utf-8")
