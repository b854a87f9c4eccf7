"""The one place that decides when Xero is called: :class:`SyncScheduler`.

It implements :class:`~xero_panel.sync.state.Scheduler`, which the panel calls on every view:

* **Warm cache, no calls.** An organisation whose cache was refreshed (or tried) within
  ``XERO_PANEL_CACHE_TTL`` seconds is served as it is: one database read, no Xero call.
* **Stale cache, one call.** The first view that finds it stale leads a *single flight*
  (a lock in process, or in Redis across processes and hosts): it runs
  :func:`~xero_panel.sync.engine.incremental_sync` (one ``If-Modified-Since`` call when nothing
  changed) and waits up to ``XERO_PANEL_SYNC_WAIT`` seconds for it. Every other view of that
  organisation meanwhile waits for the same flight up to as long, then serves the cache.
* **First sync still running.** Views are served what is cached so far with its progress;
  the contacts a view matched get a targeted fetch (``ContactIDs``), at most once per TTL
  per contact.
* **Xero trouble never raises.** Timeouts, 5xx, 429s and rejected tokens are recorded in
  the sync state and reported in :attr:`~xero_panel.sync.state.CacheStatus.problem`;
  :attr:`~xero_panel.sync.state.CacheStatus.needs_reconnect` follows the connection's status.
* **Reconcile when due.** A view of an organisation last reconciled more than
  ``XERO_PANEL_RECONCILE_INTERVAL`` seconds ago queues a reconciliation.

The admin page's *Save* calls :meth:`SyncScheduler.start_full_sync` and *Refresh now*
:meth:`SyncScheduler.start_refresh`; webhooks call :meth:`SyncScheduler.start_webhook`. They
hand the work to the background runner (a thread, or RQ with Redis), whose jobs call the
``run_*`` methods (:class:`~xero_panel.sync.job_runs.SyncJobs`). No Flask here:
:meth:`~xero_panel.XeroPanel.init_app` builds the scheduler and passes it the app context.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..exceptions import XeroPanelError
from ..locks import Locks, single_flight
from ..models import Connection, Organisation, SyncState
from ..xero.client import XeroClient
from .job_runs import SyncJobs
from .runners import JobName, Runner, ThreadRunner
from .state import CacheStatus, Scheduler, cache_status, get_sync_state, status_of
from .webhook_retries import WebhookRetries

__all__ = ["STALE_RUNNING", "SyncScheduler"]

logger = logging.getLogger("xero_panel.sync.scheduler")

#: A first full sync marked ``running`` longer ago than this is taken as dead (its worker
#: was killed) and may be started again.
STALE_RUNNING = dt.timedelta(hours=2)


@dataclass(frozen=True)
class _Snapshot:
    organisation_id: int
    connection_status: str
    status: str
    phase: str | None
    full_sync_started_at: dt.datetime | None
    full_sync_completed_at: dt.datetime | None
    fresh_at: dt.datetime | None
    last_error_at: dt.datetime | None
    reconciled_at: dt.datetime | None
    #: The row read (``None``: never synced), for the cache's status when nothing changes.
    sync_state: SyncState | None = None


class SyncScheduler(SyncJobs, WebhookRetries, Scheduler):
    """Decides when Xero is called: keeps the cache fresh for panel views and starts the
    background syncs.

    Plain Python: Flask comes in only through the callables ``init_app`` passes.

    :param session_factory: makes a new session on the cache's database; the scheduler never
        uses the view's own session (it neither commits nor holds it while waiting).
    :param client_for: the Xero client for an organisation (its connection's tokens).
    :param locks: where single-flight locks and claims live (in process or Redis).
    :param runner: where background jobs go; default a :class:`ThreadRunner`.
    :param context: entered around work in other threads (``app.app_context``).
    :param ttl: ``XERO_PANEL_CACHE_TTL``.
    :param wait: ``XERO_PANEL_SYNC_WAIT``: how long a view waits for a refresh.
    :param reconcile_interval: ``XERO_PANEL_RECONCILE_INTERVAL`` (``0``: never by itself).
    :param page_size: ``XERO_PANEL_SYNC_PAGE_SIZE``.
    :param lock_ttl: the longest a refresh may hold its lock (a crashed worker's lock
        expires after this).
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        client_for: Callable[[Organisation], XeroClient],
        locks: Locks,
        runner: Runner | None = None,
        context: Callable[[], AbstractContextManager[Any]] = nullcontext,
        ttl: float = 60.0,
        wait: float = 3.0,
        reconcile_interval: float = 86400.0,
        page_size: int = 1000,
        lock_ttl: float = 300.0,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.client_for = client_for
        self.locks = locks
        self.context = context
        self.runner: Runner = runner if runner is not None else ThreadRunner(self.execute, context)
        self.ttl = ttl
        self.wait = wait
        self.reconcile_interval = reconcile_interval
        self.page_size = page_size
        self.lock_ttl = lock_ttl
        self.now = now

    # -- what the panel asks (see Scheduler) -------------------------------------------------

    def _status(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        contact_ids: Sequence[tuple[int, str]],
        *,
        refresh: bool,
    ) -> CacheStatus:
        """Freshen the cache as :meth:`~xero_panel.sync.state.Scheduler.ensure_fresh` says;
        for *Refresh* (``refresh``), fetch the contacts now (still one per concurrent burst),
        plus the organisation's incremental refresh if its TTL has passed."""
        return self._freshen(organisations, contact_ids, force_contacts=refresh)

    def _freshen(
        self,
        organisations: Sequence[Organisation],
        contact_ids: Sequence[tuple[int, str]],
        *,
        force_contacts: bool,
    ) -> CacheStatus:
        ids = [o.id for o in organisations]
        if not ids:
            return CacheStatus(fresh_at=None)
        with self.session_factory() as session:
            snapshots = self._snapshots(session, ids)
        self.sweep_webhooks()
        changed = False
        for snap in snapshots:
            try:
                if self._freshen_one(snap, contact_ids, force_contacts=force_contacts):
                    changed = True
            except Exception:  # never break a view over the sync
                changed = True
                logger.exception("Could not refresh organisation %s", snap.organisation_id)
        if changed:
            return self.cache_status(ids)
        # Nothing started or fetched: the status is the one just read (no more queries).
        states = [s.sync_state for s in snapshots if s.sync_state is not None]
        reconnect = any(s.connection_status == "needs_reconnect" for s in snapshots)
        return status_of(ids, states, needs_reconnect=reconnect)

    def cache_status(self, organisation_ids: Sequence[int]) -> CacheStatus:
        """How these organisations' cache stands, read from a new session."""
        with self.session_factory() as session:
            stand_ins = [Organisation(id=i) for i in organisation_ids]
            fresh = cache_status(session, stand_ins)
            reconnect = bool(
                session.scalar(
                    select(Connection.id)
                    .join(Organisation)
                    .where(
                        Organisation.id.in_(organisation_ids),
                        Connection.status == "needs_reconnect",
                    )
                    .limit(1)
                )
            )
        return dataclasses.replace(fresh, needs_reconnect=True) if reconnect else fresh

    def _snapshots(self, session: Session, ids: Sequence[int]) -> list[_Snapshot]:
        rows = session.execute(
            select(Organisation.id, Connection.status, SyncState)
            .join(Connection, Organisation.connection_id == Connection.id)
            .outerjoin(SyncState, SyncState.organisation_id == Organisation.id)
            .where(Organisation.id.in_(ids))
        ).all()
        return [
            _Snapshot(
                organisation_id=org_id,
                connection_status=status,
                status=state.status if state else "idle",
                phase=state.phase if state else None,
                full_sync_started_at=state.full_sync_started_at if state else None,
                full_sync_completed_at=state.full_sync_completed_at if state else None,
                fresh_at=state.fresh_at if state else None,
                last_error_at=state.last_error_at if state else None,
                reconciled_at=state.reconciled_at if state else None,
                sync_state=state,
            )
            for org_id, status, state in rows
        ]

    def _snapshot(self, organisation_id: int) -> _Snapshot | None:
        with self.session_factory() as session:
            found = self._snapshots(session, [organisation_id])
        return found[0] if found else None

    def _freshen_one(
        self,
        snap: _Snapshot,
        contact_ids: Sequence[tuple[int, str]],
        *,
        force_contacts: bool,
    ) -> bool:
        """Freshen one organisation's cache as needed; whether anything was started or
        fetched (so that its status must be read again)."""
        if snap.connection_status != "active":
            return False
        wanted = [c for org_id, c in contact_ids if org_id == snap.organisation_id and c]
        if snap.full_sync_completed_at is None:
            self._ensure_first_sync(snap)
            if wanted:
                self._fetch_contacts(snap.organisation_id, wanted, force=force_contacts)
            return True
        if fetch := force_contacts and bool(wanted):
            self._fetch_contacts(snap.organisation_id, wanted, force=True)
        if stale := self._stale(snap):
            self._refresh(snap.organisation_id)
        if reconcile := self._reconcile_due(snap):
            self.start_reconcile(snap.organisation_id)
        return fetch or stale or reconcile

    def _stale(self, snap: _Snapshot) -> bool:
        tried = [t for t in (snap.fresh_at, snap.last_error_at) if t is not None]
        if not tried:
            return True
        return (self.now() - max(tried)).total_seconds() >= self.ttl

    def _reconcile_due(self, snap: _Snapshot) -> bool:
        if self.reconcile_interval <= 0 or snap.reconciled_at is None:
            return False
        age = (self.now() - snap.reconciled_at).total_seconds()
        return age >= self.reconcile_interval

    def _ensure_first_sync(self, snap: _Snapshot) -> None:
        started = snap.full_sync_started_at
        if (
            snap.status == "running"
            and started is not None
            and self.now() - started < STALE_RUNNING
            and not self._full_sync_died(snap)
        ):
            return
        failed_at = snap.last_error_at if snap.status == "failed" else None
        if failed_at is not None and (self.now() - failed_at).total_seconds() < self.ttl:
            return
        self.start_full_sync(snap.organisation_id)

    def _full_sync_died(self, snap: _Snapshot) -> bool:
        """A full sync that began working (past ``queued``) holds the lock ``full:<id>``,
        extended page by page; when nobody holds it, its worker was killed: start it again
        (it resumes at the page after the last one stored)."""
        if snap.phase in (None, "queued"):
            return False
        return self.locks.wait_unlocked(f"full:{snap.organisation_id}", 0)

    # -- single flights ---------------------------------------------------------------------

    def _spawn(self, work: Callable[[], None]) -> None:
        def run() -> None:
            with self.context():
                work()

        threading.Thread(target=run, name="xero-panel-flight", daemon=True).start()

    def _refresh(self, organisation_id: int) -> None:
        def still_needed() -> bool:
            snap = self._snapshot(organisation_id)
            return snap is not None and snap.connection_status == "active" and self._stale(snap)

        flight = single_flight(
            self.locks,
            f"refresh:{organisation_id}",
            lambda: self.run_incremental(organisation_id),
            wait=self.wait,
            ttl=self.lock_ttl,
            still_needed=still_needed,
            run=self._spawn,
        )
        if flight.error is not None and not isinstance(flight.error, XeroPanelError):
            logger.error(
                "Refresh of organisation %s failed", organisation_id, exc_info=flight.error
            )

    def _fetch_contacts(
        self, organisation_id: int, contact_ids: Sequence[str], *, force: bool
    ) -> None:
        wanted = sorted(set(contact_ids))
        digest = hashlib.sha1("|".join(wanted).encode(), usedforsecurity=False).hexdigest()[:16]

        def still_needed() -> bool:
            if force:
                return True
            # Each contact at most once per TTL, across every worker.
            claimed = [
                c
                for c in wanted
                if self.locks.claim(f"contact:{organisation_id}:{c}", max(self.ttl, 1.0))
            ]
            return bool(claimed)

        single_flight(
            self.locks,
            f"contacts:{organisation_id}:{digest}",
            lambda: self.run_contacts(organisation_id, wanted),
            wait=self.wait,
            ttl=self.lock_ttl,
            still_needed=still_needed,
            run=self._spawn,
        )

    # -- starting background work ------------------------------------------------------------

    def start_full_sync(self, organisation_id: int) -> bool:
        """Start a full sync of the organisation in the background (the admin's *Save*).

        The sync state says ``running`` (phase ``queued``) at once, so the admin page shows
        it. Does nothing if one was started for this organisation in the last few seconds.

        :return: whether a sync was started.
        """
        if not self.locks.claim(f"full-start:{organisation_id}", 5.0):
            return False
        with self.session_factory() as session:
            if session.get(Organisation, organisation_id) is None:
                return False
            state = get_sync_state(session, organisation_id)
            state.status = "running"
            state.phase = "queued"
            if state.resume_phase is None:  # a resumed sync keeps its progress
                state.progress_done = 0
                state.progress_total = None
                state.full_sync_started_at = self.now()
            session.commit()
        self.runner.submit("full_sync", organisation_id)
        return True

    def start_refresh(self, organisation_id: int) -> bool:
        """Refresh the organisation in the background now (the admin's *Refresh now*): an
        incremental sync and a reconciliation, or the first full sync if it never
        completed."""
        self.runner.submit("refresh", organisation_id)
        return True

    def start_reconcile(self, organisation_id: int) -> bool:
        """Reconcile the organisation in the background, unless one was queued within the
        reconcile interval (or the last hour)."""
        hold = max(60.0, min(self.reconcile_interval, 3600.0))
        if not self.locks.claim(f"reconcile-start:{organisation_id}", hold):
            return False
        self.runner.submit("reconcile", organisation_id)
        return True

    def start_webhook(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Refresh the records these (new) webhook events name, in the background."""
        if events:
            self.runner.submit("webhook", [dict(e) for e in events])

    # -- what *Refresh now* runs ---------------------------------------------------------

    def run_refresh(self, organisation_id: int) -> dict[str, int]:
        """*Refresh now*: the first full sync if it never completed, else an incremental
        sync and a reconciliation."""
        snap = self._snapshot(organisation_id)
        if snap is None:
            return {}
        if snap.full_sync_completed_at is None:
            return self.run_full_sync(organisation_id)
        counts = self.run_incremental(organisation_id)
        for key, value in self.run_reconcile(organisation_id).items():
            counts[key] = counts.get(key, 0) + value
        return counts

    def execute(self, job: str, args: Sequence[Any]) -> object:
        """Run a background job by name (what the runners call)."""
        jobs: dict[JobName, Callable[..., object]] = {
            "full_sync": self.run_full_sync,
            "refresh": self.run_refresh,
            "reconcile": self.run_reconcile,
            "webhook": self.run_webhook,
            "webhook_retry": self.run_webhook_retry,
        }
        if job not in jobs:
            raise ValueError(f"Unknown xero-panel job {job!r}")
        return jobs[job](*args)
