"""A running noise floor: tells the user's voice from steady background speech by its level.

The reader's VAD hears any speech, and babble is speech: in babble it hears "the user" all the
time, so the silence answer never sees the silence after a turn end. The user's voice stands
above the background (5-35 dB in the scenarios), so a micro-turn whose level is within
`margin_db` of the floor (the `quantile` of the last `window` micro-turn levels) is taken as
background, whatever the VAD says. For the first `min_turns` micro-turns of a session there is
no floor yet, and nothing counts as the user: babble at the start would otherwise make a turn
that the silence answer then answers, once the floor has formed. Limits: a session that starts
mid-speech forms its floor from that speech, so for up to 10 s a quiet word end may count as
silence (the silence answer then comes a micro-turn early); at a very low SNR the user's
quietest micro-turns sit at the floor too.

    floor = NoiseFloor()
    loud = floor.push(rms_dbfs(turn.audio))   # False: at the floor, not the user
"""

from __future__ import annotations

from collections import deque

import numpy as np

FLOOR_WINDOW_TURNS = 50  # 10 s of micro-turn levels
FLOOR_QUANTILE = 0.1  # the floor: the quietest tenth of them
FLOOR_MARGIN_DB = 3.0  # within this of the floor is background (session 11's margin)
FLOOR_MIN_TURNS = 5  # levels (1 s) before the floor is trusted


class NoiseFloor:
    """Per-session state: `push` each micro-turn's level (dBFS)."""

    def __init__(
        self,
        window: int = FLOOR_WINDOW_TURNS,
        quantile: float = FLOOR_QUANTILE,
        margin_db: float = FLOOR_MARGIN_DB,
        min_turns: int = FLOOR_MIN_TURNS,
    ) -> None:
        if not 1 <= min_turns <= window or not 0.0 <= quantile <= 1.0:
            raise ValueError(
                f"need 1 <= min_turns <= window and 0 <= quantile <= 1, got {min_turns}, "
                f"{window}, {quantile}"
            )
        self.min_turns = int(min_turns)
        self.quantile = float(quantile)
        self.margin_db = float(margin_db)
        self._levels: deque[float] = deque(maxlen=int(window))

    def reset(self) -> None:
        """A new session."""
        self._levels.clear()

    @property
    def floor_db(self) -> float | None:
        """The current floor (None before `min_turns` levels)."""
        if len(self._levels) < self.min_turns:
            return None
        return float(np.quantile(self._levels, self.quantile))

    def push(self, level_db: float) -> bool:
        """Add one micro-turn's level; True when it stands more than `margin_db` above the floor
        of the levels before it (False while there is no floor yet)."""
        floor = self.floor_db
        self._levels.append(float(level_db))
        return floor is not None and level_db > floor + self.margin_db
