"""The one place that decides each organisation's state, from what its last Xero call did.

Every Xero call for an organisation (a sync of any kind, a webhook fetch, a targeted fetch,
*Test connection*) ends by recording its outcome in the organisation's
:class:`~xero_panel.models.SyncState` (:func:`~xero_panel.sync.state.record_success`,
:func:`~xero_panel.sync.state.record_failure`). :func:`state_of` reads those columns, the
connection's status and the first sync's progress, and says which of the states below the
organisation is in. The rep's notice (:mod:`xero_panel.panel.notices`), the admin's banner and
status and the health page (:mod:`xero_panel.health`) and ``flask xero-panel status`` all
read it; none decides for itself.

========================  ==================================================================
``ok``                    the last call succeeded (or none was needed)
``first-sync``            the first full sync is filling the cache
``slow``                  the last call took longer than :data:`SLOW_CALL` seconds, or timed
                          out, or a view's refresh is still waiting for Xero
``unreachable``           Xero could not be reached (connection refused or dropped)
``xero-error``            Xero answered with an error (5xx after retries, or one it cannot
                          serve)
``rate-limited``          Xero's minute, day or app limit refused the call (``limit`` says
                          which; ``retry_at`` when Xero's ``Retry-After`` ends)
``needs-reconnect``       Xero no longer accepts the connection: an admin must reconnect
``reconnecting``          an admin is reconnecting (between Xero's consent and *Save*)
========================  ==================================================================

A failure stays until the next call for the organisation succeeds, whoever makes it: the
first success clears the state for everyone. While in trouble, the scheduler tries again by
itself (:func:`retry_due`) with backoff while the panel is viewed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

from ..models import SyncState

__all__ = [
    "REASONS",
    "SLOW_CALL",
    "TROUBLE_RETRY_FIRST",
    "OrgState",
    "Reason",
    "retry_due",
    "state_of",
    "worst",
]

#: The states, the most pressing last: a panel over several organisations shows the worst.
Reason = Literal[
    "ok",
    "first-sync",
    "slow",
    "unreachable",
    "xero-error",
    "rate-limited",
    "reconnecting",
    "needs-reconnect",
]
#: :data:`Reason`'s values, in its order (the most pressing last).
REASONS: tuple[Reason, ...] = get_args(Reason)
#: A call Xero took longer than this many seconds to answer makes the state ``slow``.
SLOW_CALL = 5.0
#: Seconds after a failed call before a view's retry, doubling with each failure in a row up
#: to the cache TTL.
TROUBLE_RETRY_FIRST = 15.0


@dataclass(frozen=True)
class OrgState:
    """One organisation's state (or the worst of several), as reps and admins see it.

    :ivar reason: one of :data:`REASONS`.
    :ivar since: when the trouble began (``None`` for ``ok`` and ``first-sync``).
    :ivar retry_at: when Xero's own ``Retry-After`` ends (rate limits only).
    :ivar limit: which rate limit (``minute``, ``day``, ``appminute``, ``concurrent``).
    :ivar detail: what happened, in words for admins (never shown to reps).
    :ivar last_call_at: when the last Xero call ended.
    :ivar last_call_ms: how long Xero took to answer it, in milliseconds.
    """

    reason: Reason = "ok"
    since: dt.datetime | None = None
    retry_at: dt.datetime | None = None
    limit: str | None = None
    detail: str | None = None
    last_call_at: dt.datetime | None = None
    last_call_ms: int | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def state_of(
    connection_status: str,
    reconnect_started_at: dt.datetime | None,
    sync: SyncState | None,
) -> OrgState:
    """The organisation's state from its connection's status, whether an admin is
    reconnecting, and its sync state (``None``: never synced)."""
    calls = OrgState(
        last_call_at=sync.last_call_at if sync else None,
        last_call_ms=sync.last_call_ms if sync else None,
        detail=sync.last_error if sync else None,
    )
    trouble = sync.trouble if sync is not None else None
    if connection_status == "needs_reconnect":
        since = sync.trouble_since if sync and trouble == "needs-reconnect" else None
        return replace(calls, reason="needs-reconnect", since=since)
    if reconnect_started_at is not None:
        return replace(calls, reason="reconnecting", since=reconnect_started_at)
    if trouble == "needs-reconnect":
        trouble = None  # the connection was saved again since: its next call will tell
    if sync is not None and trouble in _TROUBLES:
        limited = trouble == "rate-limited"
        return replace(
            calls,
            reason=_TROUBLES[trouble],
            since=sync.trouble_since,
            retry_at=sync.retry_at if limited else None,
            limit=sync.rate_limit if limited else None,
        )
    if sync is not None and sync.full_sync_completed_at is None and sync.status == "running":
        return replace(calls, reason="first-sync")
    return replace(calls, reason="ok")


#: What a failed call may record (``trouble``), as states.
_TROUBLES: dict[str | None, Reason] = {
    "slow": "slow",
    "unreachable": "unreachable",
    "xero-error": "xero-error",
    "rate-limited": "rate-limited",
    "needs-reconnect": "needs-reconnect",
}


def worst(states: Sequence[OrgState]) -> OrgState:
    """The most pressing of several organisations' states (``ok`` for none); of equals, the
    one in trouble longest."""
    if not states:
        return OrgState()
    rank = {reason: i for i, reason in enumerate(REASONS)}
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)
    return max(states, key=lambda s: (rank[s.reason], far_future - (s.since or far_future)))


def retry_due(sync: SyncState, now: dt.datetime, ttl: float) -> bool:
    """Whether a view should try Xero again for an organisation in trouble: after Xero's own
    ``Retry-After``, else :data:`TROUBLE_RETRY_FIRST` seconds after the last try, doubling
    with each failure in a row, at most ``ttl``."""
    if sync.retry_at is not None and now < sync.retry_at:
        return False
    last = sync.last_call_at or sync.last_error_at
    if last is None:
        return True
    wait = min(ttl, TROUBLE_RETRY_FIRST * 2 ** max(0, (sync.failures or 1) - 1))
    return bool((now - last).total_seconds() >= wait)
