"""The one place that decides when Xero is called: :class:`SyncScheduler`.

It implements :class:`~xero_panel.sync.scheduling.Scheduler`, which the panel calls on every
view, by these rules (each stated in :mod:`~xero_panel.sync.freshness`):

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
* **Webhook-first.** While an organisation's webhooks arrive, its TTL is the catch-up
  interval and the catch-up runs in the background (:mod:`~xero_panel.sync.webhook_mode`).

The admin page's *Save* calls :meth:`SyncScheduler.start_full_sync` and *Refresh now*
:meth:`SyncScheduler.start_refresh`; webhooks call :meth:`SyncScheduler.start_webhook`. They
hand the work to the background runner (a thread, or RQ with Redis), whose jobs come back
through :meth:`SyncScheduler.execute`.

The scheduler is composed of what it is given: :class:`~xero_panel.sync.job_runs.SyncJobs`
runs one sync now, :class:`~xero_panel.sync.webhook_retries.WebhookRetries` keeps the queue
of webhook events to try again, the locks hold single flights and claims, and the runner
(made by ``make_runner`` from :meth:`SyncScheduler.execute`) runs background work.
No Flask here: :meth:`~xero_panel.XeroPanel.init_app` builds the scheduler and its
collaborators from the settings and passes it the app context.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy.orm import Session

from ..clock import utcnow
from ..exceptions import XeroPanelError
from ..locks import Locks, single_flight
from ..models import Organisation
from .chunks import ChunkedJobs
from .freshness import Snapshot, first_sync_wanted, is_stale, read_snapshots, reconcile_due
from .job_runs import SyncJobs
from .reading import ProgressCallback
from .runners import Execute, JobName, Runner, ThreadRunner
from .state import CacheStatus, get_sync_state, read_cache_status, status_of
from .webhook_ingest import Ingested
from .webhook_mode import WebhookModes
from .webhook_retries import WebhookRetries
from .webhook_work import WebhookWork

__all__ = ["MakeRunner", "SyncScheduler"]

logger = logging.getLogger("xero_panel.sync.scheduler")

#: What freshening one organisation did (see :meth:`SyncScheduler._freshen_one`).
_UNCHANGED, _CHANGED, _WAITING = object(), object(), object()

#: Makes the scheduler's runner from the function that runs a job by name.
MakeRunner = Callable[[Execute], Runner]


class SyncScheduler:
    """Decides when Xero is called: keeps the cache fresh for panel views and starts the
    background syncs. Implements :class:`~xero_panel.sync.scheduling.Scheduler`.

    Plain Python: Flask comes in only through the callables ``init_app`` passes.

    :param session_factory: makes a new session on the cache's database; the scheduler never
        uses the view's own session (it neither commits nor holds it while waiting).
    :param jobs: runs one sync now.
    :param webhook_retries: the queue of webhook events whose fetch is to be tried again.
    :param locks: where single-flight locks and claims live (in process or Redis).
    :param make_runner: makes the runner of background jobs from :meth:`execute`; default a
        :class:`~xero_panel.sync.runners.ThreadRunner` entering ``context``.
    :param context: entered around work in other threads (``app.app_context``).
    :param ttl: ``XERO_PANEL_CACHE_TTL``.
    :param wait: ``XERO_PANEL_SYNC_WAIT``: how long a view waits for a refresh.
    :param reconcile_interval: ``XERO_PANEL_RECONCILE_INTERVAL`` (``0``: never by itself).
    :param webhook_modes: the webhook-first rules (default: webhooks off, always polling).
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        jobs: SyncJobs,
        webhook_retries: WebhookRetries,
        locks: Locks,
        make_runner: MakeRunner | None = None,
        context: Callable[[], AbstractContextManager[Any]] = nullcontext,
        ttl: float = 60.0,
        wait: float = 3.0,
        reconcile_interval: float = 86400.0,
        now: Callable[[], dt.datetime] = utcnow,
        webhook_modes: WebhookModes | None = None,
    ) -> None:
        self.webhook_modes = webhook_modes or WebhookModes()
        self.session_factory = session_factory
        self.jobs = jobs
        self.webhook_retries = webhook_retries
        self.locks = locks
        self.context = context
        self.ttl = ttl
        self.wait = wait
        self.reconcile_interval = reconcile_interval
        self.now = now
        if make_runner is None:
            self.runner: Runner = ThreadRunner(self.execute, context)
        else:
            self.runner = make_runner(self.execute)
        self.chunks = ChunkedJobs(
            session_factory=session_factory, jobs=jobs, runner=lambda: self.runner
        )
        self.webhook_work = WebhookWork(
            session_factory=session_factory,
            jobs=jobs,
            retries=webhook_retries,
            modes=self.webhook_modes,
            locks=locks,
            runner=lambda: self.runner,
            now=lambda: self.now(),
        )

    # -- what the panel asks ---------------------------------------------------------------

    def ensure_fresh(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]] = (),
        snapshots: Sequence[Snapshot] | None = None,
    ) -> CacheStatus:
        """See :meth:`~xero_panel.sync.scheduling.Scheduler.ensure_fresh`."""
        return self._freshen(organisations, contact_ids, force_contacts=False, known=snapshots)

    def refresh_record(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]],
    ) -> CacheStatus:
        """The panel's *Refresh*: fetch the contacts now (still one per concurrent burst),
        plus the organisation's incremental refresh if its TTL has passed."""
        return self._freshen(organisations, contact_ids, force_contacts=True)

    def _freshen(
        self,
        organisations: Sequence[Organisation],
        contact_ids: Sequence[tuple[int, str]],
        *,
        force_contacts: bool,
        known: Sequence[Snapshot] | None = None,
    ) -> CacheStatus:
        ids = [o.id for o in organisations]
        if not ids:
            return CacheStatus(fresh_at=None)
        if known is not None:
            snapshots = list(known)
        else:
            with self.session_factory() as session:
                snapshots = read_snapshots(session, ids)
        self.sweep_webhooks()
        changed = waiting = False
        for snap in snapshots:
            try:
                outcome = self._freshen_one(snap, contact_ids, force_contacts=force_contacts)
            except Exception:  # never break a view over the sync
                outcome = _CHANGED
                logger.exception("Could not refresh organisation %s", snap.organisation_id)
            changed = changed or outcome is not _UNCHANGED
            waiting = waiting or outcome is _WAITING
        if not changed:
            # Nothing started or fetched: the status is the one just read (no more queries).
            return status_of(ids, snapshots)
        with self.session_factory() as session:
            status = read_cache_status(session, ids)
        return dataclasses.replace(status, still_fetching=True) if waiting else status

    def _snapshot(self, organisation_id: int) -> Snapshot | None:
        with self.session_factory() as session:
            found = read_snapshots(session, [organisation_id])
        return found[0] if found else None

    def _freshen_one(
        self,
        snap: Snapshot,
        contact_ids: Sequence[tuple[int, str]],
        *,
        force_contacts: bool,
    ) -> object:
        """Freshen one organisation's cache as needed: :data:`_UNCHANGED` when nothing was
        started or fetched, :data:`_WAITING` when a fetch was still running when the view
        stopped waiting for it, else :data:`_CHANGED` (its status must be read again)."""
        if snap.connection_status != "active":
            return _UNCHANGED
        org_id = snap.organisation_id
        wanted = [c for org, c in contact_ids if org == org_id and c]
        finished = True
        if snap.full_sync_completed_at is None:
            alive = lambda: not self.locks.wait_unlocked(f"full:{org_id}", 0)  # noqa: E731
            if first_sync_wanted(snap, self.now(), self.ttl, holder_alive=alive):
                self.start_full_sync(org_id)
            if wanted:
                finished = self._fetch_contacts(org_id, wanted, force=force_contacts)
            return _CHANGED if finished else _WAITING
        if fetch := force_contacts and bool(wanted):
            finished = self._fetch_contacts(org_id, wanted, force=True)
        ttl, behind = self.webhook_modes.freshness(snap.webhooks, org_id, self.now(), self.ttl)
        if stale := is_stale(snap, self.now(), ttl):  # behind: the view does not wait
            done = self._refresh(org_id, ttl, 0.0 if behind else self.wait)
            finished = (done or behind) and finished
        if reconcile := reconcile_due(snap, self.now(), self.reconcile_interval):
            self.start_reconcile(org_id)
        if not (fetch or stale or reconcile):
            return _UNCHANGED
        return _CHANGED if finished else _WAITING

    # -- single flights ---------------------------------------------------------------------

    def _spawn(self, work: Callable[[], None]) -> None:
        def run() -> None:
            with self.context():
                work()

        threading.Thread(target=run, name="xero-panel-flight", daemon=True).start()

    def _refresh(self, organisation_id: int, ttl: float, wait: float) -> bool:
        def still_needed() -> bool:
            snap = self._snapshot(organisation_id)
            return (
                snap is not None
                and snap.connection_status == "active"
                and is_stale(snap, self.now(), ttl)
            )

        flight = single_flight(
            self.locks,
            f"refresh:{organisation_id}",
            lambda: self.jobs.run_incremental(organisation_id),
            wait=wait,
            ttl=self.jobs.lock_ttl,
            still_needed=still_needed,
            run=self._spawn,
        )
        if flight.error is not None and not isinstance(flight.error, XeroPanelError):
            logger.error(
                "Refresh of organisation %s failed", organisation_id, exc_info=flight.error
            )
        return flight.finished

    def _fetch_contacts(
        self, organisation_id: int, contact_ids: Sequence[str], *, force: bool
    ) -> bool:
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

        return single_flight(
            self.locks,
            f"contacts:{organisation_id}:{digest}",
            lambda: self.jobs.run_contacts(
                organisation_id, wanted, kind="refresh" if force else "view"
            ),
            wait=self.wait,
            ttl=self.jobs.lock_ttl,
            still_needed=still_needed,
            run=self._spawn,
        ).finished

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

    # -- webhooks ------------------------------------------------------------------------

    def store_webhook_events(
        self, session: Session, events: Sequence[Mapping[str, Any]]
    ) -> Ingested:
        """Store a delivery (:meth:`WebhookWork.store`)."""
        return self.webhook_work.store(session, events)

    def start_webhook(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Refresh the records these (new, stored) webhook events name, in the background:
        one job per organisation, which fetches all its events not fetched yet
        (:meth:`WebhookWork.start`)."""
        if events:
            self.webhook_work.start(events)

    def sweep_webhooks(self) -> bool:
        """Queue a retry job if some stored event is due (:meth:`WebhookWork.sweep`)."""
        return self.webhook_work.sweep()

    # -- the jobs ------------------------------------------------------------------------

    def execute(self, job: JobName, args: Sequence[Any]) -> object:
        """Run a background job by name (what the runners call)."""
        jobs: dict[str, Callable[..., object]] = {
            "full_sync": self.chunks.full_sync,
            "refresh": self.run_refresh,
            "reconcile": self.chunks.reconcile,
            "webhook": self.run_webhook,
            "webhook_tenant": self.webhook_work.run_tenant,
            "webhook_retry": self.run_webhook_retry,
        }
        if job not in jobs:
            raise ValueError(f"Unknown xero-panel job {job!r}")
        return jobs[job](*args)

    def run_full_sync(
        self, organisation_id: int, progress: ProgressCallback | None = None
    ) -> dict[str, int]:
        """Run a full sync now (:meth:`SyncJobs.run_full_sync`)."""
        return self.jobs.run_full_sync(organisation_id, progress)

    def run_incremental(self, organisation_id: int) -> dict[str, int]:
        """Run an incremental sync now (:meth:`SyncJobs.run_incremental`)."""
        return self.jobs.run_incremental(organisation_id)

    def run_refresh(self, organisation_id: int) -> dict[str, int]:
        """*Refresh now*, now (:meth:`SyncJobs.run_refresh`; a first sync in it goes in
        chunks, :meth:`ChunkedJobs.refresh`)."""
        return self.chunks.refresh(organisation_id)

    def run_webhook(self, events: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Fetch what the events name (:meth:`WebhookWork.run`)."""
        return self.webhook_work.run(events)

    def run_webhook_retry(self) -> dict[str, int]:
        """Try again every due webhook event (:meth:`WebhookWork.run_retry`)."""
        return self.webhook_work.run_retry()
