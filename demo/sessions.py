"""The demo's sign-in hygiene: an id per sign-in that *Sign out* ends for good, and a
growing wait after repeated failed sign-ins for one email address.

Flask's session is a signed cookie, so clearing it on sign-out does not stop a copy of it.
Each sign-in therefore gets a random id in the session; *Sign out* records the id as ended,
and the user loader refuses a session whose id has ended.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import threading
from dataclasses import dataclass

from flask import Flask, current_app, session

from xero_panel.clock import utcnow

from .models import EndedSession, db

__all__ = [
    "FREE_FAILURES",
    "MAX_WAIT",
    "LoginThrottle",
    "end_session",
    "session_ended",
    "start_session",
    "throttle",
]

#: The session key holding this sign-in's id.
SESSION_ID_KEY = "demo_session_id"
#: Failed sign-ins for one email address before each further try has to wait.
FREE_FAILURES = 3
#: The longest wait, in seconds (the wait doubles per failure: 2, 4, 8, ... up to this).
MAX_WAIT = 300


def start_session() -> None:
    """Give the new sign-in its own id (call after ``login_user``)."""
    session[SESSION_ID_KEY] = secrets.token_urlsafe(32)


def end_session() -> None:
    """Record the current sign-in's id as ended and empty the session."""
    session_id = session.get(SESSION_ID_KEY)
    if isinstance(session_id, str) and db.session.get(EndedSession, session_id) is None:
        db.session.add(EndedSession(session_id=session_id))
        db.session.commit()
    session.clear()


def session_ended() -> bool:
    """Whether the current session belongs to a sign-in that was signed out."""
    session_id = session.get(SESSION_ID_KEY)
    return isinstance(session_id, str) and db.session.get(EndedSession, session_id) is not None


@dataclass
class _Failures:
    count: int
    last: dt.datetime


class LoginThrottle:
    """Counts failed sign-ins per email address (in this process; the demo runs one)."""

    def __init__(self) -> None:
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait(self, email: str) -> int:
        """Seconds to wait before ``email`` may try again (0: now)."""
        with self._lock:
            failures = self._failures.get(email.casefold())
            if failures is None or failures.count < FREE_FAILURES:
                return 0
            pause = min(MAX_WAIT, 2 ** (failures.count - FREE_FAILURES + 1))
            left = (failures.last + dt.timedelta(seconds=pause) - utcnow()).total_seconds()
            return max(0, math.ceil(left))

    def failed(self, email: str) -> None:
        with self._lock:
            key = email.casefold()
            count = self._failures[key].count + 1 if key in self._failures else 1
            self._failures[key] = _Failures(count, utcnow())

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(email.casefold(), None)


def install_throttle(app: Flask) -> None:
    app.extensions["demo_login_throttle"] = LoginThrottle()


def throttle() -> LoginThrottle:
    """The app's login throttle."""
    found: LoginThrottle = current_app.extensions["demo_login_throttle"]
    return found
