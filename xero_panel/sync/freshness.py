"""When an organisation's cache needs Xero: the scheduler's rules, on a :class:`Snapshot`
of its sync state read in one statement.

Plain functions of the snapshot, the time and the settings, so each rule is stated once and
tested without a database: :func:`is_stale` (the TTL), :func:`reconcile_due` (the
reconciliation interval), :func:`first_sync_wanted` (start or restart the first full sync).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Connection, Organisation, SyncState, WebhookTenant
from .org_state import retry_due

__all__ = [
    "STALE_RUNNING",
    "Snapshot",
    "first_sync_wanted",
    "is_stale",
    "read_snapshots",
    "reconcile_due",
    "snapshot_of",
]

#: A first full sync marked ``running`` longer ago than this is taken as dead (its worker
#: was killed) and may be started again.
STALE_RUNNING = dt.timedelta(hours=2)


@dataclass(frozen=True)
class Snapshot:
    """One organisation's sync state and its connection's status, as read at one moment."""

    organisation_id: int
    connection_status: str
    #: Set while an admin reconnects the connection (between Xero's consent and *Save*).
    reconnect_started_at: dt.datetime | None
    status: str
    phase: str | None
    full_sync_started_at: dt.datetime | None
    full_sync_completed_at: dt.datetime | None
    fresh_at: dt.datetime | None
    last_error_at: dt.datetime | None
    reconciled_at: dt.datetime | None
    #: The row read (``None``: never synced), for the cache's status when nothing changes.
    sync_state: SyncState | None = None
    #: How the tenant's webhooks stand (``None``: no delivery named it yet), for its mode
    #: (:mod:`~xero_panel.sync.webhook_mode`).
    webhooks: WebhookTenant | None = None


def read_snapshots(session: Session, organisation_ids: Sequence[int]) -> list[Snapshot]:
    """The snapshots of these organisations (one statement; unknown ids are left out)."""
    rows = session.execute(
        select(
            Organisation.id,
            Connection.status,
            Connection.reconnect_started_at,
            SyncState,
            WebhookTenant,
        )
        .join(Connection, Organisation.connection_id == Connection.id)
        .outerjoin(SyncState, SyncState.organisation_id == Organisation.id)
        .outerjoin(WebhookTenant, WebhookTenant.tenant_id == Organisation.tenant_id)
        .where(Organisation.id.in_(list(organisation_ids)))
    ).all()
    return [
        snapshot_of(org_id, status, reconnecting, state, heard)
        for org_id, status, reconnecting, state, heard in rows
    ]


def snapshot_of(
    organisation_id: int,
    connection_status: str,
    reconnect_started_at: dt.datetime | None,
    state: SyncState | None,
    webhooks: WebhookTenant | None,
) -> Snapshot:
    """The snapshot of one organisation from the rows read (its sync state may be missing)."""
    return Snapshot(
        organisation_id=organisation_id,
        connection_status=connection_status,
        reconnect_started_at=reconnect_started_at,
        status=state.status if state else "idle",
        phase=state.phase if state else None,
        full_sync_started_at=state.full_sync_started_at if state else None,
        full_sync_completed_at=state.full_sync_completed_at if state else None,
        fresh_at=state.fresh_at if state else None,
        last_error_at=state.last_error_at if state else None,
        reconciled_at=state.reconciled_at if state else None,
        sync_state=state,
        webhooks=webhooks,
    )


def is_stale(snap: Snapshot, now: dt.datetime, ttl: float) -> bool:
    """Whether the cache was neither refreshed nor tried in the last ``ttl`` seconds; for an
    organisation in trouble, whether its retry is due
    (:func:`~xero_panel.sync.org_state.retry_due`: sooner, with backoff)."""
    sync = snap.sync_state
    if sync is not None and sync.trouble not in (None, "slow"):
        return retry_due(sync, now, ttl)
    tried = [t for t in (snap.fresh_at, snap.last_error_at) if t is not None]
    if not tried:
        return True
    return (now - max(tried)).total_seconds() >= ttl


def reconcile_due(snap: Snapshot, now: dt.datetime, interval: float) -> bool:
    """Whether the last reconciliation is ``interval`` seconds old (``0``: never by itself;
    an organisation whose first full sync has not reconciled yet is not due)."""
    if interval <= 0 or snap.reconciled_at is None:
        return False
    return (now - snap.reconciled_at).total_seconds() >= interval


def first_sync_wanted(
    snap: Snapshot, now: dt.datetime, ttl: float, *, holder_alive: Callable[[], bool]
) -> bool:
    """Whether to start the first full sync (again) for a view of an organisation whose
    cache never completed one.

    Not while one runs: marked ``running`` less than :data:`STALE_RUNNING` ago and, once past
    ``queued``, its holder still holds the lock ``full:<id>`` (``holder_alive()``, asked only
    then). Not within
    ``ttl`` seconds of a failed one.
    """
    started = snap.full_sync_started_at
    queued = snap.phase in (None, "queued")
    if (
        snap.status == "running"
        and started is not None
        and now - started < STALE_RUNNING
        and (queued or holder_alive())
    ):
        return False
    failed_at = snap.last_error_at if snap.status == "failed" else None
    return failed_at is None or (now - failed_at).total_seconds() >= ttl
