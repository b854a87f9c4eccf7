"""The wall clock a test controls: ``clock`` (a fixture in tests/conftest.py) stops it at
:data:`RUN_START`.

Tests build their dates from ``clock.today`` and ``clock.now`` and move time with
``clock.advance``; nothing compares a date written in the test with the real calendar, so
the suite means the same on any day, and with the clock moved ahead (``XP_CLOCK_SHIFT_DAYS``,
tests/clock_shift/).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

#: The hour (UTC) the clock stops at: the same calendar date everywhere from UTC-10 to
#: UTC+13 (New Zealand's summer), so "today" in UTC and in each organisation's timezone the
#: tests use is one date.
START_HOUR = 10


class Clock:
    """The stopped wall clock of one test (time-machine underneath)."""

    def __init__(self, traveller: Any, now: dt.datetime) -> None:
        self._traveller = traveller
        self.now = now
        traveller.move_to(now, tick=False)

    @property
    def today(self) -> dt.date:
        """The date the clock shows, in UTC (and in every timezone the tests use)."""
        return self.now.date()

    def days(self, n: int) -> dt.date:
        """The date ``n`` days from today (negative: before)."""
        return self.today + dt.timedelta(days=n)

    def advance(self, **delta: float) -> dt.datetime:
        """Move the clock on by a ``timedelta(**delta)``; returns the new time."""
        self.now += dt.timedelta(**delta)
        self._traveller.move_to(self.now, tick=False)
        return self.now


def start_of_test_day(now: dt.datetime) -> dt.datetime:
    """``START_HOUR`` UTC of ``now``'s date."""
    return dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(START_HOUR), dt.UTC)


#: Where every test's ``clock`` starts: the run's first day (read once, when the tests
#: are collected), so a run that crosses midnight keeps one "today", and a module may
#: build its parameters from :data:`TODAY` before any test runs.
RUN_START = start_of_test_day(dt.datetime.now(dt.UTC))
#: The ``clock`` fixture's today.
TODAY = RUN_START.date()
