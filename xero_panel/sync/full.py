"""The full sync: everything the panel needs from Xero into the cache, page by page, and
resumable at the page after the last one stored (see :func:`full_sync`). Part of
:mod:`~xero_panel.sync.engine`, which exports it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from ..clock import utcnow
from ..exceptions import XeroPanelError
from ..models import Organisation, SyncState
from ..xero.client import Page, XeroClient
from ..xero.yielding_waits import WaitAbandoned
from .reading import Progress, ProgressCallback, SyncResult, SyncRun, Watermark
from .state import cached_counts, get_sync_state, record_failure, record_success

__all__ = [
    "CREDIT_NOTES_WHERE",
    "INVOICES_WHERE",
    "PHASES",
    "Chunk",
    "ChunkEnded",
    "Pause",
    "ResumePoint",
    "chunk_ended",
    "full_sync",
]

logger = logging.getLogger("xero_panel.sync")

#: Sales invoices only: supplier bills (ACCPAY) never enter the cache.
INVOICES_WHERE = 'Type=="ACCREC"'
#: Customer credit notes only.
CREDIT_NOTES_WHERE = 'Type=="ACCRECCREDIT"'
#: How each kind of sales document is read: which ones, in which (stable) order.
_DOCUMENTS = {
    "invoices": (INVOICES_WHERE, "InvoiceID ASC"),
    "credit_notes": (CREDIT_NOTES_WHERE, "CreditNoteID ASC"),
}
#: The phases of a full sync, in order; an unfinished one resumes at its stored phase.
PHASES = ("organisation", "contacts", "invoices", "credit_notes")
#: Asked with the pages read so far in this run, before each further page: whether to stop
#: here (the end of a chunk; the sync resumes at that page).
Pause = Callable[[int], bool]


class ChunkEnded(Exception):
    """A sync run in chunks stops at a page boundary (not a failure)."""


class Chunk:
    """Counts the calls of one run of a sync in chunks (a full sync, a reconciliation) and
    stops it where ``pause`` says."""

    def __init__(self, pause: Pause | None) -> None:
        self.pause = pause
        self.pages = 0

    def gate(self) -> None:
        """Before a call: stop here, or count it (the run's first call always goes)."""
        if self.pages and self.pause is not None and self.pause(self.pages):
            raise ChunkEnded
        self.pages += 1


def chunk_ended(
    run: SyncRun, what: str, phase: str | None, pages: int | None, now: dt.datetime
) -> SyncResult:
    """Where a sync run in chunks stops (a chunk's end, or its wait for the budget given up
    to urgent work) after ``pages`` stored pages of ``phase``: its calls' success recorded
    and committed, its result ``paused``."""
    record_success(run.session, run.org_id, seconds=run.client.last_call_seconds, now=now)
    run.session.commit()
    result = run.done(None)
    result.paused = True
    logger.info(
        "%s of organisation %s paused after %s calls at %s page %s",
        what,
        run.org_id,
        result.calls,
        phase,
        (pages or 0) + 1,
    )
    return result


def _phase(session: Session, state: SyncState, phase: str) -> None:
    """Enter ``phase``: none of its pages are stored yet (committed)."""
    state.phase = phase
    state.resume_phase = phase
    state.resume_page = 0
    session.commit()


def _start_full(session: Session, organisation_id: int, started: dt.datetime) -> SyncState:
    state = get_sync_state(session, organisation_id)
    state.status = "running"
    state.progress_done = 0
    state.progress_total = None
    state.full_sync_started_at = started
    state.resume_started_at = started
    _phase(session, state, "organisation")
    return state


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumable sync starts: its phase (one of ``phases``, in order), the pages of
    that phase already stored, and when the sync first began."""

    phase: str
    pages: int
    started: dt.datetime
    phases: tuple[str, ...] = PHASES

    def runs(self, phase: str) -> bool:
        return self.phases.index(phase) >= self.phases.index(self.phase)

    def first_page(self, phase: str) -> int:
        return self.pages + 1 if phase == self.phase else 1

    def whole(self, phase: str) -> bool:
        """Whether this run reads all of ``phase``'s list (not resumed inside it)."""
        return self.first_page(phase) == 1


def _resume_point(session: Session, organisation_id: int, now: dt.datetime) -> ResumePoint | None:
    state = get_sync_state(session, organisation_id)
    if state.resume_phase not in PHASES or state.resume_started_at is None:
        return None
    state.status = "running"
    state.phase = state.resume_phase
    session.commit()
    return ResumePoint(state.resume_phase, state.resume_page or 0, state.resume_started_at)


def _checkpoint(state: SyncState, phase: str) -> Callable[[Page[Any]], None]:
    def stored(page: Page[Any]) -> None:
        state.resume_phase = phase
        state.resume_page = page.page

    return stored


def _finish_full(state: SyncState, stored: int, started: dt.datetime, ended: dt.datetime) -> None:
    """A full sync that started at ``started`` stored ``stored`` records and is done: the cache
    matches Xero as of ``started`` (it is fresh and reconciled)."""
    state.status = "idle"
    state.phase = None
    state.resume_phase = None
    state.resume_page = 0
    state.resume_started_at = None
    state.progress_total = max(stored, state.progress_total or 0)
    state.fresh_at = state.reconciled_at = started
    state.full_sync_completed_at = ended
    state.last_error = None
    state.last_error_at = None


def _capped(mark: Watermark, resumed: ResumePoint | None) -> dt.datetime | None:
    """A watermark; a resumed sync's never passes the moment the sync first began, so the
    next incremental sync re-reads whatever changed while it was down."""
    value = mark.value(None)
    if resumed is None:
        return value
    return resumed.started if value is None else min(value, resumed.started)


def full_sync(
    session: Session,
    organisation: Organisation | int,
    client: XeroClient,
    *,
    page_size: int = 1000,
    progress: ProgressCallback | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    pause: Pause | None = None,
) -> SyncResult:
    """Read everything the panel needs from Xero into the cache, committing page by page.

    Order: the organisation's details, every contact (archived ones too, so matching sees
    merges), every ACCREC invoice with its payments, every ACCRECCREDIT credit note, each
    list in a stable order (by ID). The :class:`~xero_panel.models.SyncState` shows
    ``status="running"``, the ``phase`` and ``progress_done``/``progress_total`` (records)
    while it runs, then ``idle`` (or ``failed`` with ``last_error``). Cached contacts Xero no
    longer has are removed. A full sync is also a reconciliation.

    **Resumable.** With each stored page the sync state records the phase and the page
    (``resume_phase``, ``resume_page``) in the same commit. A full sync that did not finish
    (its worker was killed, or Xero failed) resumes at the next page: pages already stored
    are not fetched again. Records Xero changed or added meanwhile are caught by the next
    incremental sync, whose watermark never passes the moment the first attempt began.

    **In chunks.** With ``pause``, asked before each call after the first, the sync stops
    where it answers true, everything read so far stored, and returns a result with
    ``paused`` set; the state stays ``running`` and the next call resumes it. A call whose
    wait for the budget is given up (:mod:`~xero_panel.xero.yielding_waits`, which the
    chunked job sets) stops it the same way, at that call's page.

    :param progress: also told ``(done, total)`` after each page (the CLI's progress bar).
    :raises XeroPanelError: after recording the failure in the sync state.
    """
    run = SyncRun(session, organisation, client, "full", page_size)
    org, tenant_id = run.organisation, run.tenant_id
    resumed = _resume_point(session, run.org_id, now())
    if resumed is None:
        started = now()
        state = _start_full(session, run.org_id, started)
        plan = ResumePoint("organisation", 0, started)
    else:
        started, plan = resumed.started, resumed
        state = get_sync_state(session, run.org_id)
        logger.info(
            "Resuming the full sync of organisation %s at %s page %s",
            run.org_id,
            plan.phase,
            plan.pages + 1,
        )
    tracker = Progress(progress, state, done=state.progress_done if resumed else 0)
    if resumed is not None:
        # The phases done before the restart are not read again: their part of the total is
        # what the cache holds of them, so the total stays what it was before the restart.
        cached = cached_counts(session, run.org_id)
        for phase in ("contacts", "invoices"):
            if not plan.runs(phase):
                tracker.totals[phase] = cached[phase]
    named: set[str] = set()
    chunk = Chunk(pause)

    def read_documents(
        kind: Literal["invoices", "credit_notes"],
        pages_of: Callable[..., Iterable[Page[Any]]],
        mark: Watermark,
    ) -> None:
        """Store every sales document of ``kind`` in ID order, from the page a resumed sync
        stopped at, noting the contacts they name."""
        where, order = _DOCUMENTS[kind]
        first_page = plan.first_page(kind)
        pages = pages_of(
            tenant_id, where=where, order=order, page_size=page_size, first_page=first_page
        )
        checkpoint = _checkpoint(state, kind)
        run.read(
            kind,
            pages,
            mark=mark,
            named=named,
            progress=tracker,
            checkpoint=checkpoint,
            gate=chunk.gate,
        )

    try:
        if plan.runs("organisation"):
            chunk.gate()
            details = client.organisation(tenant_id)
            org.name = details.name or org.name
            org.short_code, org.base_currency = details.short_code, details.base_currency
            org.timezone = details.timezone
            org.country_code = details.country_code
            _phase(session, state, "contacts")
        contacts_mark = Watermark()
        if plan.runs("contacts"):
            run.all_contacts(
                contacts_mark,
                progress=tracker,
                first_page=plan.first_page("contacts"),
                checkpoint=_checkpoint(state, "contacts"),
                gate=chunk.gate,
            )
            _phase(session, state, "invoices")
        invoices_mark = Watermark()
        if plan.runs("invoices"):
            read_documents("invoices", client.iter_invoice_pages, invoices_mark)
            _phase(session, state, "credit_notes")
        notes_mark = Watermark()
        read_documents("credit_notes", client.iter_credit_note_pages, notes_mark)
        if resumed is not None:  # the pages stored before the restart named contacts too
            named.update(run.writer.cached_contact_ids_named())
        run.missing_contacts(named)  # contacts made while the sync ran

        state.contacts_modified_since = _capped(contacts_mark, resumed)
        state.invoices_modified_since = _capped(invoices_mark, resumed)
        state.credit_notes_modified_since = _capped(notes_mark, resumed)
        reconciled = state.reconciled_at
        _finish_full(state, tracker.done, started, now())
        if not plan.whole("contacts"):
            # Not every contact page was read in one go: removals wait for a reconciliation.
            state.reconciled_at = reconciled
        record_success(session, run.org_id, seconds=client.last_call_seconds, now=now())
        session.commit()
    except (ChunkEnded, WaitAbandoned):  # a chunk's end, or its wait given up to urgent work
        return chunk_ended(run, "Full sync", state.resume_phase, state.resume_page, now())
    except XeroPanelError as exc:
        record_failure(session, run.org_id, exc, full=True, now=now())
        logger.warning("Full sync of organisation %s failed: %s", run.org_id, exc)
        raise
    except BaseException as exc:
        record_failure(session, run.org_id, exc, full=True, now=now())
        raise
    result = run.done(started)
    logger.info(
        "Full sync of organisation %s: %s invoices, %s credit notes, %s contacts, %s calls",
        run.org_id,
        result.invoices,
        result.credit_notes,
        result.contacts,
        result.calls,
    )
    return result
