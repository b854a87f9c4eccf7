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
import subprocess
from pathlib import Path

VARIABLE = "XP_CLOCK_SHIFT_DAYS"
PTH_NAME = "xp_clock_shift.pth"


def shift_days() -> int:
    """The shift asked for by the environment (0 when none)."""
    return int(os.environ.get(VARIABLE) or 0)


def pth_text() -> str:
    """The ``.pth`` file's lines: this folder on ``sys.path``, then the import."""
    return f"{Path(__file__).resolve().parent}\nimport xp_clock_shift\n"


def carry_into(python: Path, env: dict[str, str], constraints: Path) -> None:
    """Give another virtualenv (an example host's) this run's shift: time-machine and the
    ``.pth`` file installed into it, the variable set in ``env`` for its processes; then
    check that its Python sees the same date as this one."""
    days = shift_days()
    if not days:
        return
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-c", str(constraints), "time-machine"], check=True)
    subprocess.run([str(python), str(Path(__file__).with_name("write_pth.py"))], check=True)
    env[VARIABLE] = str(days)
    show = "import datetime as dt; print(dt.datetime.now(dt.UTC).date())"
    seen = subprocess.run(
        [str(python), "-c", show], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    ours = dt.datetime.now(dt.UTC).date()
    if abs(dt.date.fromisoformat(seen) - ours) > dt.timedelta(days=1):  # midnight may pass
        raise RuntimeError(f"{python} sees {seen}, not this run's shifted date ({ours})")


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
