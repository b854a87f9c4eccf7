"""The seam between the panel and the sync: how fresh the cache is, and asking for fresher.

The panel view calls :meth:`FreshnessService.ensure_fresh` before it queries the cache and
shows what comes back (age, first-sync progress, a notice when Xero could not be reached).
The sync module provides the real service; :class:`CacheOnly` reads the sync state and
never calls Xero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Organisation, SyncState


@dataclass(frozen=True)
class Freshness:
    """How fresh the cache behind one panel view is.

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


class FreshnessService(Protocol):
    """What the panel view needs from the sync."""

    def ensure_fresh(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]] = (),
    ) -> Freshness:
        """Make the cache of ``organisations`` fresh enough for a view, then say how fresh.

        Runs at most one incremental sync per organisation per TTL whatever the number of
        concurrent views (single-flight), fetches the invoices of ``contact_ids``
        (``(organisation_id, ContactID)`` pairs the view matched) that the first full sync
        has not reached yet, and never raises for Xero trouble: it reports it in
        :attr:`Freshness.problem` and the view serves the cache.
        """
        ...

    def refresh_record(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]],
    ) -> Freshness:
        """The panel's *Refresh*: fetch these contacts' invoices and credit notes from Xero
        now (a targeted sync), whatever the TTL, then say how fresh the cache is."""
        ...

    def start_full_sync(self, organisation_id: int) -> bool:
        """Start the first (or a new) full sync of an organisation in the background.
        Returns whether one was started."""
        ...

    def start_refresh(self, organisation_id: int) -> bool:
        """Start a refresh of an organisation in the background (*Refresh now*)."""
        ...


class CacheOnly:
    """A :class:`FreshnessService` that never calls Xero: it reports the sync state."""

    def ensure_fresh(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]] = (),
    ) -> Freshness:
        return freshness_of(session, organisations)

    def refresh_record(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]],
    ) -> Freshness:
        return freshness_of(session, organisations)

    def start_full_sync(self, organisation_id: int) -> bool:
        return False

    def start_refresh(self, organisation_id: int) -> bool:
        return False


def freshness_of(session: Session, organisations: Sequence[Organisation]) -> Freshness:
    """Read how fresh the cache of ``organisations`` is from their sync state."""
    ids = [o.id for o in organisations]
    states = list(session.scalars(select(SyncState).where(SyncState.organisation_id.in_(ids))))
    by_org = {s.organisation_id: s for s in states}
    fresh = [by_org[i].fresh_at if i in by_org else None for i in ids]
    running = [s for s in states if s.full_sync_completed_at is None and s.status == "running"]
    errors = [s.last_error for s in states if s.last_error]
    return Freshness(
        fresh_at=None if not fresh or any(f is None for f in fresh) else min(f for f in fresh if f),
        first_sync_running=bool(running),
        progress_done=sum(s.progress_done for s in running),
        progress_total=(
            sum(s.progress_total or 0 for s in running)
            if running and all(s.progress_total is not None for s in running)
            else None
        ),
        problem=errors[0] if errors else None,
    )
