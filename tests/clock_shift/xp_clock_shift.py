"""Moves this Python process's wall clock ``XP_CLOCK_SHIFT_DAYS`` days ahead, when set.

``scripts/bootstrap.sh`` writes ``xp_clock_shift.pth`` into the test virtualenvs; Python
imports this module from it at start-up, so every Python process of a test run (pytest, the
emulator's server, gunicorn and RQ workers, the demo's CLI, the example hosts) lives on the
same later calendar. time-machine moves ``time.time``, ``datetime.now``, ``date.today`` and
their kin and lets the clock tick from there; monotonic clocks are left alone, so timeouts
and waits behave as they do on any day. Without the variable this module does nothing.

``.ci/run`` runs the suite a second time with ``XP_CLOCK_SHIFT_DAYS=400``; see the README's
"Testing" section.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

VARIABLE = "XP_CLOCK_SHIFT_DAYS"
PTH_NAME = "xp_clock_shift.pth"


def shift_days() -> int:
    """The shift asked for by the environment (0 when none)."""
    return int(os.environ.get(VARIABLE) or 0)


def pth_text() -> str:
    """The ``.pth`` file's lines: this folder on ``sys.path``, then the import."""
    return f"{Path(__file__).resolve().parent}\nimport xp_clock_shift\n"


def _start() -> None:
    days = shift_days()
    if not days:
        return
    import time_machine

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    time_machine.travel(later, tick=True).start()


# Only as the .pth file imports it (a top-level module); tests/conftest.py imports it as
# tests.clock_shift.xp_clock_shift for its names, and must not move the clock itself.
if __name__ == "xp_clock_shift":
    _start()
