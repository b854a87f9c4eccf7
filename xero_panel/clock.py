"""The plugin's one reading of the wall clock.

Every "now" the plugin works with comes from :func:`utcnow` (or from a ``now=`` argument a
caller passes in, which the core's functions take for the same reason). "Today" is this
instant's date in each organisation's timezone (``panel/view_rules.today_in``), so no code asks the
machine for a local date. A test stops or moves this clock with time-machine, and the suite
runs with it moved a year ahead (the README's "Testing").
"""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)
