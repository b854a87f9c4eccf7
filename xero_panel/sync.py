"""Filling and refreshing the local cache of one Xero organisation.

Plain Python over SQLAlchemy and :class:`~xero_panel.xero.client.XeroClient`: every function
takes the session it writes with (and commits it as it goes, page by page), the organisation
and a client. No Flask here; :mod:`xero_panel.sync_service` decides *when* each runs.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from .exceptions import AuthExpired, RateLimited, XeroAPIError, XeroPanelError, XeroUnavailable
from .matching import email_key, name_key
from .models import (
    ContactEmail,
    Invoice,
    Organisation,
    Payment,
    SyncState,
    XeroContact,
    utcnow,
)
from .xero.client import Page, XeroClient
from .xero.types import Contact as XeroContactData
from .xero.types import CreditNote as XeroCreditNote
from .xero.types import Invoice as XeroInvoice

__all__ = [
    "CREDIT_NOTES_WHERE",
    "INVOICES_WHERE",
    "SAFETY_MARGIN",
    "ProgressCallback",
    "SyncKind",
    "SyncResult",
    "describe_problem",
    "full_sync",
    "get_sync_state",
    "incremental_sync",
    "reconcile",
    "record_failure",
    "sync_by_ids",
    "sync_contacts",
]

logger = logging.getLogger("xero_panel.sync")

#: Sales invoices only: supplier bills (ACCPAY) never enter the cache.
INVOICES_WHERE = 'Type=="ACCREC"'
#: Customer credit notes only.
CREDIT_NOTES_WHERE = 'Type=="ACCRECCREDIT"'
#: ``If-Modified-Since`` is sent this much before the watermark. Xero compares to the second;
#: the margin also covers a write Xero committed a moment after it answered.
SAFETY_MARGIN = dt.timedelta(seconds=2)
#: GUIDs per ``where`` filter of ``OR``-ed IDs (credit notes have no ``IDs`` parameter).
WHERE_BATCH_SIZE = 20

SyncKind = Literal["full", "incremental", "contacts", "ids", "reconcile"]
#: Called as ``progress(done, total)`` (records stored, records expected so far; ``total``
#: grows as each phase's first page says how many it has).
ProgressCallback = Callable[[int, int | None], None]

_T = TypeVar("_T")


@dataclass
class SyncResult:
    """What one sync did.

    :ivar calls: Xero API calls made for this organisation.
    :ivar invoices: sales invoices stored (new or updated).
    :ivar credit_notes: customer credit notes stored.
    :ivar contacts: contacts stored.
    :ivar removed_contacts: cached contacts deleted because Xero no longer has them.
    """

    kind: SyncKind
    calls: int = 0
    invoices: int = 0
    credit_notes: int = 0
    contacts: int = 0
    removed_contacts: int = 0
    fresh_at: dt.datetime | None = None


def describe_problem(exc: BaseException) -> str:
    """The words the panel and the admin page show for a failed sync."""
    if isinstance(exc, AuthExpired):
        return "Xero no longer accepts this connection: an admin must reconnect Xero."
    if isinstance(exc, RateLimited):
        return "Xero's rate limit was reached; showing cached data for now."
    if isinstance(exc, XeroUnavailable):
        return "Xero could not be reached; showing cached data for now."
    if isinstance(exc, XeroAPIError):
        return f"Xero answered with an error ({exc}); showing cached data for now."
    return f"The Xero sync failed ({type(exc).__name__}); showing cached data for now."


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


def record_failure(
    session: Session,
    organisation_id: int,
    exc: BaseException,
    *,
    full: bool = False,
    now: dt.datetime | None = None,
) -> str:
    """Roll back, then note ``exc`` in the sync state (``failed`` for a full sync) and
    commit. Marks the connection ``needs_reconnect`` on
    :class:`~xero_panel.exceptions.AuthExpired`.

    :return: the problem as :func:`describe_problem` words it.
    """
    session.rollback()
    problem = describe_problem(exc)
    state = get_sync_state(session, organisation_id)
    state.last_error = problem
    state.last_error_at = now or utcnow()
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


# ------------------------------------------------------------------------------------------
# Reading Xero
# ------------------------------------------------------------------------------------------


def _calls(client: XeroClient, tenant_id: str) -> int:
    return client.counter.count(tenant_id).sent


def _batches(values: Iterable[str], size: int) -> list[list[str]]:
    unique = list(dict.fromkeys(v for v in values if v))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def _guid_filter(field_name: str, ids: Sequence[str]) -> str:
    return "||".join(f'{field_name}==GUID("{value}")' for value in ids)


# ------------------------------------------------------------------------------------------
# Writing the cache
# ------------------------------------------------------------------------------------------


def _email_keys(contact: XeroContactData) -> list[str]:
    """The contact's own and its contact persons' addresses, keyed as matching compares them."""
    keys = [contact.email or "", *contact.person_emails]
    return list(dict.fromkeys(email_key(k) for k in keys if k and k.strip()))


class _Cache:
    """Upserts into one organisation's cache; the caller flushes and commits."""

    def __init__(self, session: Session, organisation_id: int) -> None:
        self.session = session
        self.organisation_id = organisation_id

    def store_contacts(self, contacts: Sequence[XeroContactData]) -> int:
        if not contacts:
            return 0
        ids = [c.contact_id for c in contacts]
        existing = {
            row.contact_id: row
            for row in self.session.scalars(
                select(XeroContact)
                .where(
                    XeroContact.organisation_id == self.organisation_id,
                    XeroContact.contact_id.in_(ids),
                )
                .options(selectinload(XeroContact.emails))
            )
        }
        for contact in contacts:
            row = existing.get(contact.contact_id)
            if row is None:
                row = XeroContact(
                    organisation_id=self.organisation_id, contact_id=contact.contact_id
                )
                self.session.add(row)
                existing[contact.contact_id] = row
            row.name = contact.name
            row.name_key = name_key(contact.name)
            row.email = contact.email
            row.status = contact.status
            row.is_customer = contact.is_customer
            row.is_supplier = contact.is_supplier
            row.merged_to_contact_id = contact.merged_to_contact_id
            row.updated_at = contact.updated_at
            keys = _email_keys(contact)
            if [e.email_key for e in row.emails] != keys:
                row.emails = [
                    ContactEmail(organisation_id=self.organisation_id, email_key=k) for k in keys
                ]
        return len(contacts)

    def _documents(self, xero_ids: Sequence[str]) -> dict[str, Invoice]:
        return {
            row.xero_id: row
            for row in self.session.scalars(
                select(Invoice)
                .where(
                    Invoice.organisation_id == self.organisation_id, Invoice.xero_id.in_(xero_ids)
                )
                .options(selectinload(Invoice.payments))
            )
        }

    def _document_row(self, existing: dict[str, Invoice], xero_id: str) -> Invoice:
        """The cached row of an invoice or credit note, added to the session if new."""
        row = existing.get(xero_id)
        if row is None:
            row = Invoice(organisation_id=self.organisation_id, xero_id=xero_id)
            self.session.add(row)
            existing[xero_id] = row
        return row

    def store_invoices(self, invoices: Sequence[XeroInvoice]) -> int:
        sales = [i for i in invoices if i.type == "ACCREC"]
        if not sales:
            return 0
        existing = self._documents([i.invoice_id for i in sales])
        for invoice in sales:
            row = self._document_row(existing, invoice.invoice_id)
            row.kind = "invoice"
            row.xero_type = invoice.type
            row.number = invoice.number
            row.reference = invoice.reference
            row.contact_id = invoice.contact_id or ""
            row.status = invoice.status
            row.date = invoice.date
            row.due_date = invoice.due_date
            row.currency = invoice.currency
            row.total = invoice.total
            row.balance = invoice.amount_due
            row.amount_paid = invoice.amount_paid
            row.amount_credited = invoice.amount_credited
            row.fully_paid_on = invoice.fully_paid_on
            row.updated_at = invoice.updated_at
            payments = [
                (p.payment_id, p.date, p.amount, p.reference)
                for p in invoice.payments
                if p.status != "DELETED"
            ]
            cached = [(p.payment_id, p.date, p.amount, p.reference) for p in row.payments]
            if cached != payments:
                row.payments = [
                    Payment(payment_id=pid, date=date, amount=amount, reference=reference)
                    for pid, date, amount, reference in payments
                ]
        return len(sales)

    def store_credit_notes(self, notes: Sequence[XeroCreditNote]) -> int:
        customer = [n for n in notes if n.type == "ACCRECCREDIT"]
        if not customer:
            return 0
        existing = self._documents([n.credit_note_id for n in customer])
        for note in customer:
            row = self._document_row(existing, note.credit_note_id)
            row.kind = "credit_note"
            row.xero_type = note.type
            row.number = note.number
            row.reference = note.reference
            row.contact_id = note.contact_id or ""
            row.status = note.status
            row.date = note.date
            row.due_date = None
            row.currency = note.currency
            row.total = note.total
            row.balance = note.remaining_credit
            row.amount_paid = note.total - note.remaining_credit
            row.updated_at = note.updated_at
        return len(customer)

    def unknown_contact_ids(self, contact_ids: Iterable[str]) -> list[str]:
        wanted = list(dict.fromkeys(c for c in contact_ids if c))
        known: set[str] = set()
        for batch in _batches(wanted, 500):
            known.update(
                self.session.scalars(
                    select(XeroContact.contact_id).where(
                        XeroContact.organisation_id == self.organisation_id,
                        XeroContact.contact_id.in_(batch),
                    )
                )
            )
        return [c for c in wanted if c not in known]

    def remove_contacts_except(self, keep: set[str]) -> int:
        rows = self.session.execute(
            select(XeroContact.id, XeroContact.contact_id).where(
                XeroContact.organisation_id == self.organisation_id
            )
        ).all()
        stale = [pk for pk, contact_id in rows if contact_id not in keep]
        for batch in [stale[i : i + 500] for i in range(0, len(stale), 500)]:
            self.session.execute(delete(ContactEmail).where(ContactEmail.contact_pk.in_(batch)))
            self.session.execute(delete(XeroContact).where(XeroContact.id.in_(batch)))
        return len(stale)


def _write(session: Session, store: Callable[[Sequence[_T]], int], items: Sequence[_T]) -> int:
    """Run one page's upserts and commit; if another worker inserted the same rows at the
    same moment, roll back and run them again (they are updates now)."""
    try:
        count = store(items)
        session.commit()
    except IntegrityError:
        session.rollback()
        count = store(items)
        session.commit()
    return count


class _Watermark:
    """The newest ``UpdatedDateUTC`` of a read, kept safe across pages: when a read spans
    pages, a record changed while it ran may be newer than ones still to come, so the mark
    never passes Xero's clock at the first page."""

    def __init__(self) -> None:
        self.newest: dt.datetime | None = None
        self.first_server_time: dt.datetime | None = None
        self.pages = 0

    def see(self, page: Page[Any], stamps: Iterable[dt.datetime | None]) -> None:
        self.pages += 1
        if self.first_server_time is None:
            self.first_server_time = page.server_time
        for stamp in stamps:
            if stamp is not None and (self.newest is None or stamp > self.newest):
                self.newest = stamp

    def value(self, previous: dt.datetime | None) -> dt.datetime | None:
        mark = self.newest
        if mark is None:
            # Nothing changed: keep the old mark, or start from Xero's clock.
            return previous if previous is not None else self.first_server_time
        if self.pages > 1 and self.first_server_time is not None:
            mark = min(mark, self.first_server_time)
        if previous is not None:
            mark = max(mark, previous)
        return mark


def _load(session: Session, organisation: Organisation | int) -> Organisation:
    organisation_id = organisation if isinstance(organisation, int) else organisation.id
    found = session.get(Organisation, organisation_id)
    if found is None:
        raise LookupError(f"No organisation {organisation_id} in the cache.")
    return found


@dataclass
class _Progress:
    callback: ProgressCallback | None
    state: SyncState
    done: int = 0
    totals: dict[str, int] = field(default_factory=dict)

    def expect(self, phase: str, count: int | None) -> None:
        if count is not None and phase not in self.totals:
            self.totals[phase] = count
            self.state.progress_total = sum(self.totals.values())

    def add(self, count: int) -> None:
        self.done += count
        self.state.progress_done = self.done
        if self.callback is not None:
            self.callback(self.done, self.state.progress_total)


# ------------------------------------------------------------------------------------------
# The syncs
# ------------------------------------------------------------------------------------------


def _fetch_contacts_by_id(
    session: Session,
    cache: _Cache,
    client: XeroClient,
    tenant_id: str,
    contact_ids: Sequence[str],
    page_size: int,
) -> int:
    stored = 0
    for page in client.iter_contact_pages(
        tenant_id, ids=contact_ids, include_archived=True, page_size=page_size
    ):
        stored += _write(session, cache.store_contacts, page)
    return stored


def full_sync(
    session: Session,
    organisation: Organisation | int,
    client: XeroClient,
    *,
    page_size: int = 1000,
    progress: ProgressCallback | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> SyncResult:
    """Read everything the panel needs from Xero into the cache, committing page by page.

    Order: the organisation's details, every contact (archived ones too, so matching sees
    merges), every ACCREC invoice with its payments, every ACCRECCREDIT credit note. The
    :class:`~xero_panel.models.SyncState` shows ``status="running"``, the ``phase`` and
    ``progress_done``/``progress_total`` (records) while it runs, then ``idle`` (or
    ``failed`` with ``last_error``). Cached contacts Xero no longer has are removed. A full
    sync is also a reconciliation.

    :param progress: also told ``(done, total)`` after each page (the CLI's progress bar).
    :raises XeroPanelError: after recording the failure in the sync state.
    """
    org = _load(session, organisation)
    org_id, tenant_id = org.id, org.tenant_id
    cache = _Cache(session, org_id)
    calls_before = _calls(client, tenant_id)
    started = now()
    state = get_sync_state(session, org_id)
    state.status = "running"
    state.phase = "organisation"
    state.progress_done = 0
    state.progress_total = None
    state.full_sync_started_at = started
    session.commit()
    result = SyncResult("full")
    tracker = _Progress(progress, state)
    try:
        details = client.organisation(tenant_id)
        org.name = details.name or org.name
        org.short_code = details.short_code
        org.base_currency = details.base_currency
        org.timezone = details.timezone
        state.phase = "contacts"
        session.commit()

        seen_contacts: set[str] = set()
        contacts_mark = _Watermark()
        for page in client.iter_contact_pages(
            tenant_id, include_archived=True, order="ContactID ASC", page_size=page_size
        ):
            tracker.expect("contacts", page.item_count)
            contacts_mark.see(page, (c.updated_at for c in page))
            seen_contacts.update(c.contact_id for c in page)
            stored = _write(session, cache.store_contacts, page)
            result.contacts += stored
            tracker.add(stored)
        result.removed_contacts = cache.remove_contacts_except(seen_contacts)
        state.phase = "invoices"
        session.commit()

        invoices_mark = _Watermark()
        invoice_contacts: set[str] = set()
        for invoice_page in client.iter_invoice_pages(
            tenant_id, where=INVOICES_WHERE, order="InvoiceID ASC", page_size=page_size
        ):
            tracker.expect("invoices", invoice_page.item_count)
            invoices_mark.see(invoice_page, (i.updated_at for i in invoice_page))
            invoice_contacts.update(i.contact_id for i in invoice_page if i.contact_id)
            stored = _write(session, cache.store_invoices, invoice_page)
            result.invoices += stored
            tracker.add(stored)
        state.phase = "credit_notes"
        session.commit()

        notes_mark = _Watermark()
        for note_page in client.iter_credit_note_pages(
            tenant_id, where=CREDIT_NOTES_WHERE, page_size=page_size
        ):
            tracker.expect("credit_notes", note_page.item_count)
            notes_mark.see(note_page, (n.updated_at for n in note_page))
            invoice_contacts.update(n.contact_id for n in note_page if n.contact_id)
            stored = _write(session, cache.store_credit_notes, note_page)
            result.credit_notes += stored
            tracker.add(stored)

        # Contacts made while the sync ran.
        missing = cache.unknown_contact_ids(invoice_contacts)
        if missing:
            result.contacts += _fetch_contacts_by_id(
                session, cache, client, tenant_id, missing, page_size
            )

        state.contacts_modified_since = contacts_mark.value(None)
        state.invoices_modified_since = invoices_mark.value(None)
        state.credit_notes_modified_since = notes_mark.value(None)
        state.status = "idle"
        state.phase = None
        state.progress_total = tracker.done
        state.fresh_at = started
        state.reconciled_at = started
        state.full_sync_completed_at = now()
        state.last_error = None
        state.last_error_at = None
        session.commit()
    except XeroPanelError as exc:
        record_failure(session, org_id, exc, full=True, now=now())
        logger.warning("Full sync of organisation %s failed: %s", org_id, exc)
        raise
    except BaseException as exc:
        record_failure(session, org_id, exc, full=True, now=now())
        raise
    result.calls = _calls(client, tenant_id) - calls_before
    result.fresh_at = started
    logger.info(
        "Full sync of organisation %s: %s invoices, %s credit notes, %s contacts, %s calls",
        org_id,
        result.invoices,
        result.credit_notes,
        result.contacts,
        result.calls,
    )
    return result


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
    org = _load(session, organisation)
    org_id, tenant_id = org.id, org.tenant_id
    cache = _Cache(session, org_id)
    calls_before = _calls(client, tenant_id)
    started = now()
    state = get_sync_state(session, org_id)
    previous = state.invoices_modified_since
    since = None if previous is None else previous - margin
    result = SyncResult("incremental")
    try:
        mark = _Watermark()
        contact_ids: set[str] = set()
        for page in client.iter_invoice_pages(
            tenant_id,
            where=INVOICES_WHERE,
            order="UpdatedDateUTC ASC",
            page_size=page_size,
            modified_since=since,
        ):
            mark.see(page, (i.updated_at for i in page))
            contact_ids.update(i.contact_id for i in page if i.contact_id)
            result.invoices += _write(session, cache.store_invoices, page)
        missing = cache.unknown_contact_ids(contact_ids)
        if missing:
            result.contacts += _fetch_contacts_by_id(
                session, cache, client, tenant_id, missing, page_size
            )
        state = get_sync_state(session, org_id)
        state.invoices_modified_since = mark.value(state.invoices_modified_since)
        state.fresh_at = started
        state.last_error = None
        state.last_error_at = None
        session.commit()
    except XeroPanelError as exc:
        record_failure(session, org_id, exc, now=now())
        raise
    result.calls = _calls(client, tenant_id) - calls_before
    result.fresh_at = started
    return result


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
    org = _load(session, organisation)
    org_id, tenant_id = org.id, org.tenant_id
    cache = _Cache(session, org_id)
    calls_before = _calls(client, tenant_id)
    result = SyncResult("contacts")
    ids = list(dict.fromkeys(c for c in contact_ids if c))
    if not ids:
        return result
    for page in client.iter_invoice_pages(
        tenant_id, contact_ids=ids, where=INVOICES_WHERE, page_size=page_size
    ):
        result.invoices += _write(session, cache.store_invoices, page)
    for batch in _batches(ids, WHERE_BATCH_SIZE):
        where = f"{CREDIT_NOTES_WHERE}&&({_guid_filter('Contact.ContactID', batch)})"
        for notes in client.iter_credit_note_pages(tenant_id, where=where, page_size=page_size):
            result.credit_notes += _write(session, cache.store_credit_notes, notes)
    result.calls = _calls(client, tenant_id) - calls_before
    return result


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
    org = _load(session, organisation)
    org_id, tenant_id = org.id, org.tenant_id
    cache = _Cache(session, org_id)
    calls_before = _calls(client, tenant_id)
    result = SyncResult("ids")
    named_contacts: set[str] = set()
    if invoice_ids:
        for page in client.iter_invoice_pages(
            tenant_id, ids=invoice_ids, where=INVOICES_WHERE, page_size=page_size
        ):
            named_contacts.update(i.contact_id for i in page if i.contact_id)
            result.invoices += _write(session, cache.store_invoices, page)
    for batch in _batches(credit_note_ids, WHERE_BATCH_SIZE):
        where = f"{CREDIT_NOTES_WHERE}&&({_guid_filter('CreditNoteID', batch)})"
        for notes in client.iter_credit_note_pages(tenant_id, where=where, page_size=page_size):
            named_contacts.update(n.contact_id for n in notes if n.contact_id)
            result.credit_notes += _write(session, cache.store_credit_notes, notes)
    wanted = list(dict.fromkeys([*contact_ids, *cache.unknown_contact_ids(named_contacts)]))
    if wanted:
        result.contacts += _fetch_contacts_by_id(
            session, cache, client, tenant_id, wanted, page_size
        )
    result.calls = _calls(client, tenant_id) - calls_before
    return result


def reconcile(
    session: Session,
    organisation: Organisation | int,
    client: XeroClient,
    *,
    page_size: int = 1000,
    now: Callable[[], dt.datetime] = utcnow,
) -> SyncResult:
    """Catch what ``If-Modified-Since`` misses (see the fact sheet, section 2): Xero does
    not bump ``UpdatedDateUTC`` for DueDate edits on part-paid invoices, nor for contacts'
    merges and ``IsCustomer`` changes.

    Re-reads every contact (removing those Xero no longer has, storing
    ``MergedToContactID`` and archiving), every customer credit note, and every AUTHORISED
    ACCREC invoice; then fetches by ID any invoice the cache still has as AUTHORISED that
    Xero did not list (it was paid or voided). About three calls for a small organisation.

    :raises XeroPanelError: after recording the problem in the sync state.
    """
    org = _load(session, organisation)
    org_id, tenant_id = org.id, org.tenant_id
    cache = _Cache(session, org_id)
    calls_before = _calls(client, tenant_id)
    started = now()
    result = SyncResult("reconcile")
    try:
        seen_contacts: set[str] = set()
        contacts_mark = _Watermark()
        for page in client.iter_contact_pages(
            tenant_id, include_archived=True, order="ContactID ASC", page_size=page_size
        ):
            contacts_mark.see(page, (c.updated_at for c in page))
            seen_contacts.update(c.contact_id for c in page)
            result.contacts += _write(session, cache.store_contacts, page)
        result.removed_contacts = cache.remove_contacts_except(seen_contacts)
        session.commit()

        notes_mark = _Watermark()
        for note_page in client.iter_credit_note_pages(
            tenant_id, where=CREDIT_NOTES_WHERE, page_size=page_size
        ):
            notes_mark.see(note_page, (n.updated_at for n in note_page))
            result.credit_notes += _write(session, cache.store_credit_notes, note_page)

        listed: set[str] = set()
        for invoices in client.iter_invoice_pages(
            tenant_id,
            statuses=["AUTHORISED"],
            where=INVOICES_WHERE,
            order="InvoiceID ASC",
            page_size=page_size,
        ):
            listed.update(i.invoice_id for i in invoices)
            result.invoices += _write(session, cache.store_invoices, invoices)
        cached_open = set(
            session.scalars(
                select(Invoice.xero_id).where(
                    Invoice.organisation_id == org_id,
                    Invoice.kind == "invoice",
                    Invoice.status == "AUTHORISED",
                )
            )
        )
        gone = sorted(cached_open - listed)
        if gone:
            for invoices in client.iter_invoice_pages(tenant_id, ids=gone, page_size=page_size):
                result.invoices += _write(session, cache.store_invoices, invoices)

        state = get_sync_state(session, org_id)
        state.contacts_modified_since = contacts_mark.value(state.contacts_modified_since)
        state.credit_notes_modified_since = notes_mark.value(state.credit_notes_modified_since)
        state.reconciled_at = started
        session.commit()
    except XeroPanelError as exc:
        record_failure(session, org_id, exc, now=now())
        raise
    result.calls = _calls(client, tenant_id) - calls_before
    return result


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
