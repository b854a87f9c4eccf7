"""Where each organisation's cache stands: its sync state, failures, and the status the panel
shows.

:class:`~xero_panel.models.SyncState` holds, per organisation, when the cache last matched
Xero (``fresh_at``), the watermarks, the first sync's progress and the last error. This
module reads and writes it for the sync, and sums it up for the panel as a
:class:`CacheStatus` (:func:`read_cache_status`). What the rest of the plugin asks of the
sync is :class:`~xero_panel.sync.scheduling.Scheduler`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..exceptions import AuthExpired, RateLimited, XeroAPIError, XeroUnavailable
from ..models import Invoice, Organisation, SyncState, XeroContact
from .freshness import Snapshot, read_snapshots
from .org_state import SLOW_CALL, OrgState, state_of, worst

__all__ = [
    "CacheStatus",
    "cached_counts",
    "describe_problem",
    "get_sync_state",
    "read_cache_status",
    "record_failure",
    "record_success",
    "status_of",
    "trouble_of",
]


@dataclass(frozen=True)
class CacheStatus:
    """How up to date the cache behind one panel view is.

    :ivar fresh_at: when the cache last matched Xero, the oldest over the organisations
        (``None``: never synced).
    :ivar first_sync_running: a first full sync is still filling the cache.
    :ivar progress_done: records the running first sync has stored so far.
    :ivar progress_total: records it expects in all (``None`` while unknown).
    :ivar problem: why the cache could not be refreshed just now (Xero down, rate limited),
        in words for the panel's notice; ``None`` when all went well.
    :ivar needs_reconnect: Xero no longer accepts the connection's tokens.
    """

    fresh_at: dt.datetime | None
    first_sync_running: bool = False
    progress_done: int = 0
    progress_total: int | None = None
    problem: str | None = None
    needs_reconnect: bool = False
    #: The state reps and admins see (the worst of the organisations'; see
    #: :mod:`~xero_panel.sync.org_state`).
    state: OrgState = field(default_factory=OrgState)
    #: This view's refresh was still waiting for Xero when the view stopped waiting.
    still_fetching: bool = False


def read_cache_status(session: Session, organisation_ids: Sequence[int]) -> CacheStatus:
    """How the cache of these organisations stands, read in one statement from their sync
    state and their connection. Calls nobody: the
    :class:`~xero_panel.sync.scheduling.Scheduler` decides whether to call Xero first."""
    ids = list(organisation_ids)
    if not ids:
        return CacheStatus(fresh_at=None)
    return status_of(ids, read_snapshots(session, ids))


def status_of(ids: Sequence[int], snapshots: Sequence[Snapshot]) -> CacheStatus:
    """How the cache of the organisations ``ids`` stands, from their snapshots (an
    organisation without a sync state was never synced)."""
    states = [s.sync_state for s in snapshots if s.sync_state is not None]
    by_org = {s.organisation_id: s for s in states}
    fresh = [by_org[i].fresh_at if i in by_org else None for i in ids]
    running = [s for s in states if s.full_sync_completed_at is None and s.status == "running"]
    errors = [s.last_error for s in states if s.last_error]
    org_states = [
        state_of(s.connection_status, s.reconnect_started_at, s.sync_state) for s in snapshots
    ]
    return CacheStatus(
        fresh_at=None if not fresh or any(f is None for f in fresh) else min(f for f in fresh if f),
        first_sync_running=bool(running),
        progress_done=sum(s.progress_done for s in running),
        progress_total=(
            sum(s.progress_total or 0 for s in running)
            if running and all(s.progress_total is not None for s in running)
            else None
        ),
        problem=errors[0] if errors else None,
        needs_reconnect=any(s.connection_status == "needs_reconnect" for s in snapshots),
        state=worst(org_states),
    )


def describe_problem(exc: BaseException) -> str:
    """What a failed Xero call ran into, in words for admins (the health page, *Test
    connection*, ``flask xero-panel status``). Reps never read it: their notice comes from
    the organisation's state (:mod:`xero_panel.panel.notices`)."""
    if isinstance(exc, AuthExpired):
        return "Xero refused this connection's tokens."
    if isinstance(exc, RateLimited):
        return str(exc)
    if isinstance(exc, XeroUnavailable):
        if exc.status == 0 and (exc.detail or "").endswith("Timeout"):
            return "Xero did not answer in time."
        if exc.status >= 500:
            return f"Xero answered HTTP {exc.status}."
        return "Xero could not be reached."
    if isinstance(exc, XeroAPIError):
        return f"Xero answered with an error: {exc}"
    return f"The Xero sync failed ({type(exc).__name__})."


def get_sync_state(session: Session, organisation_id: int) -> SyncState:
    """The organisation's :class:`~xero_panel.models.SyncState`, made if missing (not
    committed)."""
    state = session.get(SyncState, organisation_id)
    if state is None:
        state = SyncState(organisation_id=organisation_id, status="idle", progress_done=0)
        session.add(state)
        try:
            session.flush()
        except IntegrityError:
            # Another worker made it first.
            session.rollback()
            state = session.get(SyncState, organisation_id)
            assert state is not None
    return state


def trouble_of(exc: BaseException) -> str:
    """The kind of failure ``exc`` is, as :mod:`~xero_panel.sync.org_state` names it."""
    if isinstance(exc, AuthExpired):
        return "needs-reconnect"
    if isinstance(exc, RateLimited):
        return "rate-limited"
    if isinstance(exc, XeroUnavailable) and exc.status == 0:
        return "slow" if (exc.detail or "").endswith("Timeout") else "unreachable"
    return "xero-error"


def record_failure(
    session: Session,
    organisation_id: int,
    exc: BaseException,
    *,
    full: bool = False,
    now: dt.datetime | None = None,
) -> str:
    """Roll back, then note a failed Xero call in the sync state (``failed`` for a full
    sync) and commit: what happened (for admins), its kind, since when failures run, Xero's
    ``Retry-After``. Marks the connection ``needs_reconnect`` on
    :class:`~xero_panel.exceptions.AuthExpired`.

    :return: the problem as :func:`describe_problem` words it.
    """
    session.rollback()
    now = now or utcnow()
    problem = describe_problem(exc)
    state = get_sync_state(session, organisation_id)
    trouble = trouble_of(exc)
    if state.trouble != trouble:
        state.trouble_since = now
    state.trouble = trouble
    state.failures = (state.failures or 0) + 1
    state.last_error = problem
    state.last_error_at = now
    state.last_call_at = now
    if isinstance(exc, RateLimited):
        state.retry_at = now + dt.timedelta(seconds=exc.retry_after)
        state.rate_limit = exc.problem or "minute"
    else:
        state.retry_at = None
        state.rate_limit = None
    if full:
        state.status = "failed"
        state.phase = None
    if isinstance(exc, AuthExpired):
        organisation = session.get(Organisation, organisation_id)
        if organisation is not None and organisation.connection.status == "active":
            organisation.connection.status = "needs_reconnect"
            organisation.connection.last_error = str(exc)
    session.commit()
    return problem


def record_success(
    session: Session,
    organisation_id: int,
    *,
    seconds: float | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Note a Xero call for the organisation that succeeded (``seconds``: how long Xero took
    to answer it): every trouble ends, for everyone; a call slower than
    :data:`~xero_panel.sync.org_state.SLOW_CALL` makes the state ``slow``. The connection no
    longer needs an admin's attention (a failed *Test connection* or token refresh noted
    it). The caller commits."""
    now = now or utcnow()
    state = get_sync_state(session, organisation_id)
    slow = seconds is not None and seconds > SLOW_CALL
    if slow:
        state.trouble_since = state.trouble_since if state.trouble == "slow" else now
        state.trouble = "slow"
    else:
        state.trouble = None
        state.trouble_since = None
    state.failures = 0
    state.retry_at = None
    state.rate_limit = None
    state.last_error = None
    state.last_error_at = None
    state.last_call_at = now
    if seconds is not None:
        state.last_call_ms = round(seconds * 1000)
    clear_connection_problem(session, organisation_id)


def clear_connection_problem(session: Session, organisation_id: int) -> None:
    """A sync call to Xero succeeded: the organisation's connection no longer needs an
    admin's attention (a failed *Test connection* or token refresh noted it). The caller
    commits."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        return
    connection = organisation.connection
    if connection.status == "active" and connection.last_error is not None:
        connection.last_error = None
        connection.last_error_at = None


def cached_counts(session: Session, organisation_id: int) -> dict[str, int]:
    """How many invoices, credit notes and contacts the cache holds for an organisation."""
    kinds = dict(
        session.execute(
            select(Invoice.kind, func.count())
            .where(Invoice.organisation_id == organisation_id)
            .group_by(Invoice.kind)
        ).all()
    )
    contacts = session.scalar(
        select(func.count()).where(XeroContact.organisation_id == organisation_id)
    )
    return {
        "invoices": int(kinds.get("invoice", 0)),
        "credit_notes": int(kinds.get("credit_note", 0)),
        "contacts": int(contacts or 0),
    }
