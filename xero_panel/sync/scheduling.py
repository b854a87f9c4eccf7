"""What the rest of the plugin may ask of the sync: the :class:`Scheduler` interface.

Every method the web layer, the CLI and the background jobs call is declared here, and
nothing calls a scheduler any other way (no ``getattr``), so mypy catches a rename.
:class:`~xero_panel.sync.scheduler.SyncScheduler` is the real one;
:class:`CacheOnlyScheduler` never calls Xero (for a host or a test that fills the cache
itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..clock import utcnow
from ..models import Organisation
from .freshness import Snapshot
from .reading import ProgressCallback
from .runners import JobName
from .state import CacheStatus, read_cache_status, status_of
from .webhook_ingest import Ingested, store_delivery
from .webhook_mode import WebhookModes
from .webhook_retries import BACKOFF_BASE

__all__ = ["CacheOnlyScheduler", "Scheduler"]

_QUIET_AFTER = WebhookModes().quiet_after
_NEVER_CALLS_XERO = "This app's xero-panel scheduler is cache-only: it never calls Xero."


class Scheduler(Protocol):
    """What the panel view, the admin page, the webhook route, the CLI and the jobs ask of
    the sync."""

    # -- the panel (web/panel_context.py) ---------------------------------------------

    def ensure_fresh(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]] = (),
        snapshots: Sequence[Snapshot] | None = None,
    ) -> CacheStatus:
        """Make the cache of ``organisations`` fresh enough for a view, then say how it
        stands.

        ``snapshots``: the organisations' snapshots as the view has just read them (with
        its account's state, :mod:`xero_panel.account_state`), so that a view finding the
        cache fresh reads nothing more; without them they are read here.

        Runs at most one incremental sync per organisation per TTL whatever the number of
        concurrent views (single flight), fetches the invoices of ``contact_ids``
        (``(organisation_id, ContactID)`` pairs the view matched) that the first full sync
        has not reached yet, and never raises for Xero trouble: it reports it in
        :attr:`~xero_panel.sync.state.CacheStatus.problem` and the view serves the cache.
        ``session`` is the view's: the scheduler only reads through it.
        """
        ...

    def refresh_record(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]],
    ) -> CacheStatus:
        """The panel's *Refresh*: fetch these contacts' invoices and credit notes from Xero
        now (a targeted sync), whatever the TTL, then say how the cache stands."""
        ...

    # -- the admin page and XeroPanel.store_connection ------------------------------------

    def start_full_sync(self, organisation_id: int) -> bool:
        """Start the first (or a new) full sync of an organisation in the background (the
        admin's *Save*). Returns whether one was started."""
        ...

    def start_refresh(self, organisation_id: int) -> bool:
        """Start a refresh of an organisation in the background (*Refresh now*)."""
        ...

    # -- the webhook route ---------------------------------------------------------------

    def store_webhook_events(
        self, session: Session, events: Sequence[Mapping[str, Any]]
    ) -> Ingested:
        """Store the events not seen before of tenants some CRM account uses, each due for
        a retry should its fetch not happen, note the delivery, count the events dropped,
        commit; say which events were new
        (:func:`~xero_panel.sync.webhook_ingest.store_delivery`). Database errors propagate
        (the route answers 503 and Xero delivers again)."""
        ...

    def start_webhook(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Fetch what these newly stored events name, in the background."""
        ...

    def sweep_webhooks(self) -> bool:
        """Queue the retry of stored events whose fetch is due (at most every few seconds,
        across workers). Never raises; returns whether a retry was queued."""
        ...

    # -- the background jobs (jobs.py, the thread runner) and the CLI ------------------------

    def execute(self, job: JobName, args: Sequence[Any]) -> object:
        """Run a background job by name, now, in this thread."""
        ...

    def run_full_sync(
        self, organisation_id: int, progress: ProgressCallback | None = None
    ) -> dict[str, int]:
        """Run a full sync now (``flask xero-panel sync``); its counts."""
        ...

    def run_incremental(self, organisation_id: int) -> dict[str, int]:
        """Run an incremental sync now (``flask xero-panel sync``); its counts."""
        ...


class CacheOnlyScheduler:
    """A :class:`Scheduler` that never calls Xero: it reports the cache as it stands, starts
    nothing, keeps webhook events for whoever fetches them, and refuses to run a sync
    (``NotImplementedError``)."""

    def ensure_fresh(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]] = (),
        snapshots: Sequence[Snapshot] | None = None,
    ) -> CacheStatus:
        ids = [o.id for o in organisations]
        if snapshots is not None:
            return status_of(ids, snapshots) if ids else CacheStatus(fresh_at=None)
        return read_cache_status(session, ids)

    def refresh_record(
        self,
        session: Session,
        organisations: Sequence[Organisation],
        *,
        contact_ids: Sequence[tuple[int, str]],
    ) -> CacheStatus:
        return read_cache_status(session, [o.id for o in organisations])

    def start_full_sync(self, organisation_id: int) -> bool:
        return False

    def start_refresh(self, organisation_id: int) -> bool:
        return False

    def store_webhook_events(
        self, session: Session, events: Sequence[Mapping[str, Any]]
    ) -> Ingested:
        return store_delivery(
            session, events, now=utcnow(), retry_after=BACKOFF_BASE, quiet_after=_QUIET_AFTER
        )

    def start_webhook(self, events: Sequence[Mapping[str, Any]]) -> None:
        return None

    def sweep_webhooks(self) -> bool:
        return False

    def execute(self, job: JobName, args: Sequence[Any]) -> object:
        raise NotImplementedError(_NEVER_CALLS_XERO)

    def run_full_sync(
        self, organisation_id: int, progress: ProgressCallback | None = None
    ) -> dict[str, int]:
        raise NotImplementedError(_NEVER_CALLS_XERO)

    def run_incremental(self, organisation_id: int) -> dict[str, int]:
        raise NotImplementedError(_NEVER_CALLS_XERO)
