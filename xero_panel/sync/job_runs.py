"""Running one sync now: :class:`SyncJobs`, which the
:class:`~xero_panel.sync.scheduler.SyncScheduler` is given and runs its jobs with.

Each ``run_*`` method opens a session, loads the organisation and its client, runs the
:mod:`~xero_panel.sync.engine` function, and turns Xero trouble into a recorded problem
instead of an exception. When to run them is the scheduler's business; what to do about
webhook events whose fetch failed too (:class:`WebhookOutcome` says which).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, contains_eager, joinedload

from ..clock import utcnow
from ..exceptions import XeroPanelError
from ..locks import LOCK_TTL, Locks, keep_alive
from ..models import Connection, Organisation, SyncState, WebhookEvent
from ..xero.call_kinds import CallKind
from ..xero.client import XeroClient
from ..xero.rate_budget import BACKGROUND_MAX_WAIT
from . import engine
from .full import Pause
from .reading import ProgressCallback, SyncResult
from .state import record_failure, record_success
from .webhook_retries import stored_as

__all__ = ["SyncJobs", "WebhookOutcome", "needs_fetch"]

logger = logging.getLogger("xero_panel.sync.job_runs")

#: One sync, given the session, the organisation and its client.
_Sync = Callable[[Session, Organisation, XeroClient], SyncResult]


def _paging_through_everything(client: XeroClient) -> None:
    """A full sync or a reconciliation makes many calls in a row and nobody waits on it: a
    call that finds the minute's budget spent waits for room, up to a whole window
    (:data:`~xero_panel.xero.rate_budget.BACKGROUND_MAX_WAIT`), instead of failing. Other
    syncs keep the client's short wait, so a view reports Xero's limit at once."""
    client.max_wait = max(client.max_wait, BACKGROUND_MAX_WAIT)


@dataclass
class WebhookOutcome:
    """What fetching the records of some webhook events did.

    :ivar counts: what was stored, summed over the organisations.
    :ivar failed: the events of each tenant whose fetch failed for some organisation, with
        the problem recorded (they are to be tried again); the others are marked processed.
    """

    counts: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[list[Mapping[str, Any]], str]] = field(default_factory=list)


class SyncJobs:
    """Runs syncs now.

    :param session_factory: makes a new session on the cache's database.
    :param client_for: the Xero client for an organisation (its connection's tokens).
    :param locks: where the full sync's lock lives (in process or Redis).
    :param page_size: ``XERO_PANEL_SYNC_PAGE_SIZE``.
    :param lock_ttl: how long a sync's lock lives without its holder renewing it (a killed
        worker's lock is free again within this); the scheduler's single flights use it too.
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        client_for: Callable[[Organisation], XeroClient],
        locks: Locks,
        page_size: int = 1000,
        lock_ttl: float = LOCK_TTL,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.client_for = client_for
        self.locks = locks
        self.page_size = page_size
        self.lock_ttl = lock_ttl
        self.now = now

    @contextmanager
    def _working(self, organisation_id: int) -> Iterator[tuple[Session, Organisation, XeroClient]]:
        with self.session_factory() as session:
            organisation = session.get(Organisation, organisation_id)
            if organisation is None:
                raise LookupError(f"No organisation {organisation_id}")
            yield session, organisation, self.client_for(organisation)

    def _run(
        self, organisation_id: int, sync: _Sync, *, record: bool, kind: CallKind
    ) -> dict[str, int] | None:
        """Run ``sync`` on the organisation: its counts, ``{}`` when there is no such
        organisation, ``None`` when Xero failed. With ``record``, the outcome of its calls
        is recorded in the sync state (the engine's full, incremental and reconcile syncs
        record it themselves). ``kind`` is who the calls are for at the rate budget."""
        try:
            with self._working(organisation_id) as (session, organisation, client):
                client.kind = kind
                try:
                    result = sync(session, organisation, client)
                except XeroPanelError as exc:
                    if record:
                        record_failure(session, organisation_id, exc, now=self.now())
                    return None
                if record and result.calls:
                    seconds = client.last_call_seconds
                    record_success(session, organisation_id, seconds=seconds, now=self.now())
                    session.commit()
        except LookupError:
            return {}
        return _counts(result)

    def run_full_sync(
        self,
        organisation_id: int,
        progress: ProgressCallback | None = None,
        *,
        pause: Pause | None = None,
        continuing: bool = False,
    ) -> dict[str, int]:
        """Run a full sync now, unless another is running for this organisation (a lock
        held and extended page by page).

        :param pause: run it in chunks (see :func:`~xero_panel.sync.full.full_sync`); the
            counts then hold ``paused: 1`` when it stopped at a chunk's end.
        :param continuing: only continue an unfinished one (a chunk's continuation): do
            nothing if none is unfinished.
        :return: the counts (empty if skipped). Xero trouble is recorded, not raised.
        """
        if continuing and not self._unfinished(organisation_id):
            return {}
        held = self.locks.try_lock(f"full:{organisation_id}", self.lock_ttl)
        if held is None:
            logger.info("A full sync of organisation %s is already running", organisation_id)
            return {}

        def on_page(done: int, total: int | None) -> None:
            if progress is not None:
                progress(done, total)

        def full(session: Session, organisation: Organisation, client: XeroClient) -> SyncResult:
            _paging_through_everything(client)
            return engine.full_sync(
                session,
                organisation,
                client,
                page_size=self.page_size,
                progress=on_page,
                now=self.now,
                pause=pause,
            )

        try:
            with keep_alive(held, self.lock_ttl):
                return self._run(organisation_id, full, record=False, kind="full") or {}
        finally:
            held.release()

    def _unfinished(self, organisation_id: int) -> bool:
        """Whether the organisation has a full sync to resume."""
        with self.session_factory() as session:
            state = session.get(SyncState, organisation_id)
            return state is not None and state.resume_phase is not None

    def run_incremental(self, organisation_id: int) -> dict[str, int]:
        """Run an incremental sync now (Xero trouble is recorded, not raised)."""

        def incremental(s: Session, o: Organisation, c: XeroClient) -> SyncResult:
            return engine.incremental_sync(s, o, c, page_size=self.page_size, now=self.now)

        return self._run(organisation_id, incremental, record=False, kind="view") or {}

    def run_contacts(
        self, organisation_id: int, contact_ids: Sequence[str], *, kind: CallKind = "view"
    ) -> dict[str, int]:
        """Run a targeted sync of these contacts now (Xero trouble is recorded); ``kind`` is
        ``refresh`` for a rep's *Refresh*, ``view`` for a view's fetch."""

        def contacts(s: Session, o: Organisation, c: XeroClient) -> SyncResult:
            return engine.sync_contacts(s, o, c, contact_ids, page_size=self.page_size)

        return self._run(organisation_id, contacts, record=True, kind=kind) or {}

    def run_reconcile(
        self, organisation_id: int, *, pause: Pause | None = None, continuing: bool = False
    ) -> dict[str, int]:
        """Run a reconciliation now, or go on with an unfinished one, unless another is
        running for this organisation (a lock held and extended page by page).

        :param pause: run it in chunks (see :func:`~xero_panel.sync.reconcile.reconcile`);
            the counts then hold ``paused: 1`` when it stopped at a chunk's end.
        :param continuing: only continue an unfinished one (a chunk's continuation).
        :return: the counts (empty if skipped). Xero trouble is recorded, not raised.
        """
        held = self.locks.try_lock(f"reconcile:{organisation_id}", self.lock_ttl)
        if held is None:
            logger.info("A reconciliation of organisation %s is already running", organisation_id)
            return {}

        def reconcile(s: Session, o: Organisation, c: XeroClient) -> SyncResult:
            _paging_through_everything(c)
            return engine.reconcile(
                s, o, c, page_size=self.page_size, now=self.now, pause=pause, continuing=continuing
            )

        try:
            with keep_alive(held, self.lock_ttl):
                return self._run(organisation_id, reconcile, record=False, kind="reconcile") or {}
        finally:
            held.release()

    def run_refresh(self, organisation_id: int, *, pause: Pause | None = None) -> dict[str, int]:
        """*Refresh now*: the first full sync if it never completed (in chunks with
        ``pause``), else an incremental sync and a reconciliation."""
        with self.session_factory() as session:
            state = session.get(SyncState, organisation_id)
            completed = state is not None and state.full_sync_completed_at is not None
            if not completed and session.get(Organisation, organisation_id) is None:
                return {}
        if not completed:
            return self.run_full_sync(organisation_id, pause=pause)
        counts = self.run_incremental(organisation_id)
        for key, value in self.run_reconcile(organisation_id).items():
            counts[key] = counts.get(key, 0) + value
        return counts

    def run_webhook(self, events: Sequence[Mapping[str, Any]]) -> WebhookOutcome:
        """Fetch exactly the invoices, contacts and credit notes the events name, for every
        active organisation of each event's tenant, then mark the events processed (or, when
        a fetch failed, say so in the outcome).

        The bookkeeping is a statement each, however many events and tenants: one query
        finds the organisations of every tenant named, with their connections and sync
        states; a success is one ``UPDATE`` of the sync state; marking a tenant's events
        processed is one ``UPDATE``. The loaded rows stay loaded across the fetch's
        commits (``expire_on_commit`` off, as in the plugin's own sessions), so recording
        the success reads nothing again.
        """
        by_tenant: dict[str, list[Mapping[str, Any]]] = {}
        for event in events:
            by_tenant.setdefault(str(event.get("tenantId", "")).lower(), []).append(event)
        outcome = WebhookOutcome()
        totals = outcome.counts
        with self.session_factory() as session:
            session.expire_on_commit = False
            organisations = _active_organisations(session, list(by_tenant))
            session.commit()  # holds no connection while Xero answers
            for tenant_id, tenant_events in by_tenant.items():
                ids = _ids_by_category(tenant_events)
                problem: str | None = None
                for organisation in organisations.get(tenant_id, []):
                    session.commit()  # an earlier organisation's success, before this fetch
                    fetched = self._fetch_by_ids(session, organisation, ids)
                    if isinstance(fetched, str):
                        problem = fetched
                        continue
                    for key, value in fetched.items():
                        totals[key] = totals.get(key, 0) + value
                if problem is None:  # committed with the last organisation's success
                    _mark_processed(session, tenant_events, self.now())
                else:  # tried again later, for every organisation of the tenant (upserts)
                    outcome.failed.append((tenant_events, problem))
                session.commit()
        return outcome

    def _fetch_by_ids(
        self, session: Session, organisation: Organisation, ids: _IdsByCategory
    ) -> dict[str, int] | str:
        """Fetch the named records of one organisation and record the outcome: the counts,
        or the problem recorded when Xero failed. A success is recorded, not committed."""
        invoice_ids, contact_ids, note_ids = ids
        client = self.client_for(organisation)
        client.kind = "webhook"
        try:
            result = engine.sync_by_ids(
                session,
                organisation,
                client,
                invoice_ids=invoice_ids,
                contact_ids=contact_ids,
                credit_note_ids=note_ids,
                page_size=self.page_size,
            )
        except XeroPanelError as exc:
            return record_failure(session, organisation.id, exc, now=self.now())
        if result.calls:
            seconds = client.last_call_seconds
            record_success(session, organisation.id, seconds=seconds, now=self.now())
        return _counts(result)

    def mark_processed(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Mark these stored events processed (one statement)."""
        with self.session_factory() as session:
            _mark_processed(session, events, self.now())
            session.commit()


#: The records some webhook events name: invoices, contacts, credit notes.
_IdsByCategory = tuple[list[str], list[str], list[str]]


def _active_organisations(
    session: Session, tenant_ids: Sequence[str]
) -> dict[str, list[Organisation]]:
    """The active organisations of each of these tenants, with their connections and sync
    states, in one query."""
    found: dict[str, list[Organisation]] = {}
    rows = session.scalars(
        select(Organisation)
        .join(Organisation.connection)
        .where(Organisation.tenant_id.in_(tenant_ids), Connection.status == "active")
        .options(contains_eager(Organisation.connection), joinedload(Organisation.sync_state))
        .order_by(Organisation.id)
    )
    for organisation in rows.unique():
        found.setdefault(organisation.tenant_id, []).append(organisation)
    return found


def _mark_processed(
    session: Session, events: Sequence[Mapping[str, Any]], now: dt.datetime
) -> None:
    """Mark these stored events processed, in one ``UPDATE`` (the caller commits)."""
    session.execute(
        update(WebhookEvent)
        .where(stored_as(events))
        .values(processed_at=now, next_attempt_at=None, last_error=None)
    )


def needs_fetch(event: Mapping[str, Any]) -> bool:
    """Whether the event's record is to be fetched: not a supplier credit note's (credit
    note events say their type in ``data``; supplier credits never enter the cache)."""
    data = event.get("data")
    if str(event.get("eventCategory", "")).upper() != "CREDITNOTE":
        return True
    return not (isinstance(data, Mapping) and data.get("Type") == "ACCPAYCREDIT")


def _ids_by_category(events: Sequence[Mapping[str, Any]]) -> _IdsByCategory:
    invoices: list[str] = []
    contacts: list[str] = []
    notes: list[str] = []
    for event in events:
        resource = str(event.get("resourceId", "")).lower()
        if not resource:
            continue
        category = str(event.get("eventCategory", "")).upper()
        if category == "INVOICE":
            invoices.append(resource)
        elif category == "CONTACT":
            contacts.append(resource)
        elif category == "CREDITNOTE":
            if not needs_fetch(event):
                continue
            notes.append(resource)
    return (
        list(dict.fromkeys(invoices)),
        list(dict.fromkeys(contacts)),
        list(dict.fromkeys(notes)),
    )


def _counts(result: SyncResult) -> dict[str, int]:
    counts = {
        "calls": result.calls,
        "invoices": result.invoices,
        "credit_notes": result.credit_notes,
        "contacts": result.contacts,
    }
    if result.paused:
        counts["paused"] = 1
    return counts
