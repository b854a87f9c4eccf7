"""Filling and refreshing the local cache of one Xero organisation.

Plain Python over SQLAlchemy and :class:`~xero_panel.xero.client.XeroClient`: every function
takes the session it writes with (and commits it as it goes, page by page), the organisation
and a client. No Flask here; :class:`~xero_panel.sync.scheduler.SyncScheduler` decides *when*
each runs.

=========================  ===================================================  ================
function                   what it reads from Xero                              calls
=========================  ===================================================  ================
:func:`full_sync`          Organisation, every contact, every ACCREC invoice    ceil(N/1000) + 3
                           (with payments), every ACCRECCREDIT credit note      (for N invoices)
:func:`incremental_sync`   ACCREC invoices changed since the watermark          1 if unchanged
                           (``If-Modified-Since``); new contacts by ``IDs``
:func:`sync_contacts`      one record's contacts' invoices (``ContactIDs``)     2
                           and credit notes
:func:`sync_by_ids`        exactly the invoices, contacts and credit notes a    1 per kind
                           webhook named
:func:`reconcile`          every contact and credit note, every AUTHORISED      about 3
                           invoice: what ``If-Modified-Since`` misses
=========================  ===================================================  ================

Only sales documents enter the cache: ACCREC invoices and ACCRECCREDIT credit notes, in
every status (a pinned invoice that is later voided must show as voided). Supplier bills and
credits never do. Every write is an upsert keyed on Xero's ID, so running any of these twice,
or two of them at once, leaves the same cache.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from ..clock import utcnow
from ..exceptions import XeroPanelError
from ..models import Organisation
from ..xero.client import XeroClient
from .cache_writer import batches
from .full import CREDIT_NOTES_WHERE, INVOICES_WHERE, PHASES, full_sync
from .reading import SyncResult, SyncRun, Watermark
from .reconcile import reconcile
from .state import get_sync_state, record_failure, record_success

__all__ = [
    "CREDIT_NOTES_WHERE",
    "INVOICES_WHERE",
    "PHASES",
    "SAFETY_MARGIN",
    "SyncResult",
    "full_sync",
    "incremental_sync",
    "reconcile",
    "sync_by_ids",
    "sync_contacts",
]

logger = logging.getLogger("xero_panel.sync")

#: ``If-Modified-Since`` is sent this much before the watermark. Xero compares to the second;
#: the margin also covers a write Xero committed a moment after it answered.
SAFETY_MARGIN = dt.timedelta(seconds=2)
#: GUIDs per ``where`` filter of ``OR``-ed IDs (credit notes have no ``IDs`` parameter).
WHERE_BATCH_SIZE = 20


def _guid_filter(field_name: str, ids: Sequence[str]) -> str:
    return "||".join(f'{field_name}==GUID("{value}")' for value in ids)


def incremental_sync(
    session: Session,
    organisation: Organisation | int,
    client: XeroClient,
    *,
    page_size: int = 1000,
    margin: dt.timedelta = SAFETY_MARGIN,
    now: Callable[[], dt.datetime] = utcnow,
) -> SyncResult:
    """Fetch the ACCREC invoices changed since the invoices watermark (one call when
    nothing changed) and the contacts they name that are not cached yet; then mark the
    cache fresh.

    A new payment bumps its invoice's ``UpdatedDateUTC``, so payments come along. Contacts
    and credit notes change through webhooks and :func:`reconcile`. Without a watermark
    (no full sync yet) it reads every ACCREC invoice.

    :raises XeroPanelError: after recording the problem in the sync state.
    """
    run = SyncRun(session, organisation, client, "incremental", page_size)
    started = now()
    previous = get_sync_state(session, run.org_id).invoices_modified_since
    try:
        mark = Watermark()
        named: set[str] = set()
        pages = client.iter_invoice_pages(
            run.tenant_id,
            where=INVOICES_WHERE,
            order="UpdatedDateUTC ASC",
            page_size=page_size,
            modified_since=None if previous is None else previous - margin,
        )
        run.read("invoices", pages, mark=mark, named=named)
        run.missing_contacts(named)
        state = get_sync_state(session, run.org_id)
        state.invoices_modified_since = mark.value(state.invoices_modified_since)
        state.fresh_at = started
        record_success(session, run.org_id, seconds=client.last_call_seconds, now=now())
        session.commit()
    except XeroPanelError as exc:
        record_failure(session, run.org_id, exc, now=now())
        raise
    return run.done(started)


def sync_contacts(
    session: Session,
    organisation: Organisation | int,
    client: XeroClient,
    contact_ids: Sequence[str],
    *,
    page_size: int = 1000,
) -> SyncResult:
    """A targeted sync: every ACCREC invoice (``ContactIDs``) and ACCRECCREDIT credit note
    of these contacts, for a record whose contacts the first full sync has not reached yet
    or whose user pressed *Refresh*. Two calls for up to 50 contacts. Does not move the
    watermarks or ``fresh_at`` (the rest of the organisation is no fresher).

    :raises XeroPanelError: Xero trouble (nothing is recorded: the caller decides).
    """
    run = SyncRun(session, organisation, client, "contacts", page_size)
    ids = list(dict.fromkeys(c for c in contact_ids if c))
    if not ids:
        return run.done()
    pages = client.iter_invoice_pages(
        run.tenant_id, contact_ids=ids, where=INVOICES_WHERE, page_size=page_size
    )
    run.read("invoices", pages)
    for batch in batches(ids, WHERE_BATCH_SIZE):
        where = f"{CREDIT_NOTES_WHERE}&&({_guid_filter('Contact.ContactID', batch)})"
        run.read(
            "credit_notes",
            client.iter_credit_note_pages(run.tenant_id, where=where, page_size=page_size),
        )
    return run.done()


def sync_by_ids(
    session: Session,
    organisation: Organisation | int,
    client: XeroClient,
    *,
    invoice_ids: Sequence[str] = (),
    contact_ids: Sequence[str] = (),
    credit_note_ids: Sequence[str] = (),
    page_size: int = 1000,
) -> SyncResult:
    """Refresh exactly these records (what webhook events named), fetching them by ID
    since events carry no type or status: bills and supplier credits are fetched and
    dropped; voided and deleted sales documents are stored as such. Contacts the fetched
    invoices name that are not cached yet come too.

    :raises XeroPanelError: Xero trouble (nothing is recorded: the caller decides).
    """
    run = SyncRun(session, organisation, client, "ids", page_size)
    named: set[str] = set()
    if invoice_ids:
        pages = client.iter_invoice_pages(
            run.tenant_id, ids=invoice_ids, where=INVOICES_WHERE, page_size=page_size
        )
        run.read("invoices", pages, named=named)
    for batch in batches(credit_note_ids, WHERE_BATCH_SIZE):
        where = f"{CREDIT_NOTES_WHERE}&&({_guid_filter('CreditNoteID', batch)})"
        notes = client.iter_credit_note_pages(run.tenant_id, where=where, page_size=page_size)
        run.read("credit_notes", notes, named=named)
    wanted = list(dict.fromkeys([*contact_ids, *run.writer.unknown_contact_ids(named)]))
    if wanted:
        run.contacts_by_id(wanted)
    return run.done()
