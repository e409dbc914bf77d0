"""ControlsWidget: an eagerness slider and a do-not-interrupt switch, applied live.

Every change calls `session.set_control(name, value)` on the attached session, which sets the
policy attribute of that name (policies that support it expose `eagerness` in 0..1 and
`do_not_interrupt`) and records a "setting" span in the trace.
"""

from __future__ import annotations

import logging
from typing import Any

import anywidget
import traitlets as t

from nbduplex.widgets._assets import asset

log = logging.getLogger(__name__)

CONTROLS = ("eagerness", "do_not_interrupt")


class ControlsWidget(anywidget.AnyWidget):
    """Live controls for a session; `attach(session)` shows the policy's current values."""

    _esm = asset("controls.js")

    eagerness = t.Float(0.5, min=0.0, max=1.0).tag(sync=True)  # 0 = never chimes in, 1 = eager
    do_not_interrupt = t.Bool(False).tag(sync=True)  # suppress interjections over the user
    note = t.Unicode("").tag(sync=True)  # small status text shown beside the controls

    def __init__(self, session: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session: Any = None
        self.observe(self._changed, names=list(CONTROLS))
        if session is not None:
            self.attach(session)

    def attach(self, session: Any) -> None:
        """Control `session` (or a bare policy) from now on; the widget shows its values."""
        self.session = None  # no set_control while the widget syncs from the policy
        policy = getattr(session, "policy", session)
        for name in CONTROLS:
            if policy is not None and hasattr(policy, name):
                setattr(self, name, type(getattr(self, name))(getattr(policy, name)))
        self.session = session
        missing = [c for c in CONTROLS if policy is not None and not hasattr(policy, c)]
        self.note = (
            f"policy {getattr(session, 'policy_name', '?')} ignores: {', '.join(missing)}"
            if missing
            else ""
        )

    def _changed(self, change: dict) -> None:
        self._apply(change["name"], change["new"])

    def _apply(self, name: str, value: Any) -> None:
        if self.session is None:
            return
        try:
            if hasattr(self.session, "set_control"):
                self.session.set_control(name, value)
            elif hasattr(self.session, name):  # a bare policy (no session yet)
                setattr(self.session, name, value)
        except Exception:  # e.g. the session's trace is closed: the control stays shown
            log.exception("could not apply %s=%r", name, value)
