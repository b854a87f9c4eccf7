"""The reconciliation: what ``If-Modified-Since`` misses, caught by re-reading the lists, and
resumable at the page after the last one stored, so it can run in chunks (see
:func:`reconcile`). Part of :mod:`~xero_panel.sync.engine`, which exports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..exceptions import XeroPanelError
from ..models import ID_LENGTH, Organisation, ReconcileSeen, SyncState
from ..xero.client import Page, XeroClient
from ..xero.yielding_waits import WaitAbandoned
from .cache_writer import KINDS, RecordKind, batches
from .full import (
    CREDIT_NOTES_WHERE,
    INVOICES_WHERE,
    Chunk,
    ChunkEnded,
    Pause,
    ResumePoint,
    chunk_ended,
)
from .reading import SyncResult, SyncRun, Watermark
from .state import get_sync_state, record_failure, record_success

__all__ = ["RECONCILE_PHASES", "reconcile"]

#: The phases of a reconciliation, in order; an unfinished one resumes at its stored phase.
RECONCILE_PHASES = ("contacts", "credit_notes", "invoices", "gone")
#: What each list keeps of the IDs it reads, for the reconciliation's end.
_SEEN_AS: dict[str, str] = {"contacts": "contact", "invoices": "invoice"}


def reconcile(
    session: Session,
    organisation: Organisation | int,
    client: XeroClient,
    *,
    page_size: int = 1000,
    now: Callable[[], dt.datetime] = utcnow,
    pause: Pause | None = None,
    continuing: bool = False,
) -> SyncResult:
    """Catch what ``If-Modified-Since`` misses: Xero does not bump ``UpdatedDateUTC`` for
    DueDate edits on part-paid invoices, nor for contacts' merges and ``IsCustomer`` changes
    (see docs/sync.md).

    Re-reads every contact (removing those Xero no longer has, storing
    ``MergedToContactID`` and archiving), every customer credit note, and every AUTHORISED
    ACCREC invoice; then fetches by ID any invoice the cache still has as AUTHORISED that
    Xero did not list (it was paid or voided). About three calls for a small organisation.

    **Resumable, and in chunks.** Each list is read in ID order; with each stored page the
    sync state records the phase and the page (``reconcile_phase``, ``reconcile_page``), and
    the contacts' and open invoices' IDs go to ``xero_panel_reconcile_seen``, in the same
    commit. With ``pause`` (asked before each call after the first) the reconciliation
    stops where it answers true, or where a wait for the budget is given up
    (:mod:`~xero_panel.xero.yielding_waits`), and returns a result with ``paused`` set; the
    next call resumes it at the next page. A reconciliation that failed resumes the same
    way. Removing contacts waits for the whole list; a contact Xero changed after the
    reconciliation began is never removed (another sync may have stored it meanwhile). A
    list read over several runs leaves its ``If-Modified-Since`` watermark as it was.

    :param continuing: only continue an unfinished one (a chunk's continuation): do nothing
        if none is unfinished.
    :raises XeroPanelError: after recording the problem in the sync state.
    """
    run = SyncRun(session, organisation, client, "reconcile", page_size)
    state = get_sync_state(session, run.org_id)
    if state.reconcile_phase in RECONCILE_PHASES and state.reconcile_started_at is not None:
        started, phase, stored_pages = (
            state.reconcile_started_at,
            state.reconcile_phase,
            state.reconcile_page,
        )
    elif continuing:
        return run.done(None)
    else:
        started, phase, stored_pages = now(), "contacts", 0
        _begin(session, state, run.org_id, started)
    plan = ResumePoint(phase, stored_pages, started, RECONCILE_PHASES)
    chunk = Chunk(pause)
    tenant_id = run.tenant_id

    def read_list(
        kind: RecordKind, pages: Iterable[Page[Any]], mark: Watermark | None = None
    ) -> None:
        """Store a list's pages from where it resumes, each page's checkpoint noting where
        to resume next and the IDs it read."""
        key_of, seen_as = KINDS[kind].key_of, _SEEN_AS.get(kind)

        def stored(page: Page[Any]) -> None:
            state.reconcile_page = page.page
            if seen_as is not None:
                _note_seen(session, run.org_id, seen_as, {key_of(r) for r in page})

        run.read(kind, pages, mark=mark, checkpoint=stored, gate=chunk.gate)

    try:
        if plan.runs("contacts"):
            mark = Watermark()
            contacts = client.iter_contact_pages(
                tenant_id,
                include_archived=True,
                order="ContactID ASC",
                page_size=page_size,
                first_page=plan.first_page("contacts"),
            )
            read_list("contacts", contacts, mark)
            run.result.removed_contacts = run.writer.remove_contacts_except(
                _seen(session, run.org_id, "contact"), changed_before=started
            )
            if plan.whole("contacts"):
                state.contacts_modified_since = mark.value(state.contacts_modified_since)
            _enter(session, state, "credit_notes")
        if plan.runs("credit_notes"):
            mark = Watermark()
            notes = client.iter_credit_note_pages(
                tenant_id,
                where=CREDIT_NOTES_WHERE,
                order="CreditNoteID ASC",
                page_size=page_size,
                first_page=plan.first_page("credit_notes"),
            )
            read_list("credit_notes", notes, mark)
            if plan.whole("credit_notes"):
                state.credit_notes_modified_since = mark.value(state.credit_notes_modified_since)
            _enter(session, state, "invoices")
        if plan.runs("invoices"):
            open_invoices = client.iter_invoice_pages(
                tenant_id,
                statuses=["AUTHORISED"],
                where=INVOICES_WHERE,
                order="InvoiceID ASC",
                page_size=page_size,
                first_page=plan.first_page("invoices"),
            )
            read_list("invoices", open_invoices)
            _enter(session, state, "gone")
        gone = sorted(run.writer.open_invoice_ids() - _seen(session, run.org_id, "invoice"))
        if gone:
            by_id = client.iter_invoice_pages(tenant_id, ids=gone, page_size=page_size)
            run.read("invoices", by_id, gate=chunk.gate)
        _finish(session, state, run.org_id, started)
        record_success(session, run.org_id, seconds=client.last_call_seconds, now=now())
        session.commit()
    except (ChunkEnded, WaitAbandoned):  # a chunk's end, or its wait given up to urgent work
        phase_, page = state.reconcile_phase, state.reconcile_page
        return chunk_ended(run, "Reconciliation", phase_, page, now())
    except XeroPanelError as exc:
        record_failure(session, run.org_id, exc, now=now())
        raise
    return run.done()


def _begin(session: Session, state: SyncState, organisation_id: int, started: dt.datetime) -> None:
    _forget_seen(session, organisation_id)
    state.reconcile_started_at = started
    _enter(session, state, "contacts")


def _enter(session: Session, state: SyncState, phase: str) -> None:
    """Enter ``phase``: none of its pages are stored yet (committed)."""
    state.reconcile_phase = phase
    state.reconcile_page = 0
    session.commit()


def _finish(session: Session, state: SyncState, organisation_id: int, started: dt.datetime) -> None:
    """The cache matches Xero as of ``started`` (a full sync that ended meanwhile may have
    reconciled it later still)."""
    _forget_seen(session, organisation_id)
    state.reconcile_phase = None
    state.reconcile_page = 0
    state.reconcile_started_at = None
    if state.reconciled_at is None or state.reconciled_at < started:
        state.reconciled_at = started


def _note_seen(session: Session, organisation_id: int, kind: str, ids: set[str]) -> None:
    """Keep ``ids`` as listed (a page read again, after a crash, or an ID that moved to the
    next page while the list was read, is kept once). An ID longer than an ID can be is
    left out: the cache writer skips its record too."""
    ids = {i for i in ids if i and len(i) <= ID_LENGTH}
    if not ids:
        return
    same = (ReconcileSeen.organisation_id == organisation_id, ReconcileSeen.kind == kind)
    for batch in batches(sorted(ids), 500):
        session.execute(delete(ReconcileSeen).where(*same, ReconcileSeen.xero_id.in_(batch)))
    rows = [{"organisation_id": organisation_id, "kind": kind, "xero_id": i} for i in ids]
    session.execute(insert(ReconcileSeen), rows)


def _forget_seen(session: Session, organisation_id: int) -> None:
    session.execute(delete(ReconcileSeen).where(ReconcileSeen.organisation_id == organisation_id))


def _seen(session: Session, organisation_id: int, kind: str) -> set[str]:
    return set(
        session.scalars(
            select(ReconcileSeen.xero_id).where(
                ReconcileSeen.organisation_id == organisation_id, ReconcileSeen.kind == kind
            )
        )
    )
