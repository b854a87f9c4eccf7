"""Writing Xero's records into one organisation's cache: one upsert for every kind.

:meth:`CacheWriter.write` stores one page of contacts, invoices or credit notes: each record
is keyed on its Xero ID, found among the cached rows (or added), and given the values
:data:`KINDS` says; so storing a page twice, or two workers storing it at once, leaves the
same cache. Only sales documents are kept: ACCREC invoices and ACCRECCREDIT credit notes
(supplier bills and credits are dropped). Both live in the ``Invoice`` table, told apart by
``kind``. Plain SQLAlchemy; no Flask.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..matching import email_key, name_key
from ..models import ID_LENGTH, ContactEmail, Invoice, Payment, SyncState, XeroContact
from ..xero.types import Contact as XeroContactData
from ..xero.types import CreditNote as XeroCreditNote
from ..xero.types import Invoice as XeroInvoice

__all__ = ["KINDS", "CacheWriter", "RecordKind", "batches", "unstorable"]

#: What a sync stores; also the names of :class:`~xero_panel.sync.reading.SyncResult`'s counts.
RecordKind = Literal["contacts", "invoices", "credit_notes"]


def batches(values: Iterable[str], size: int) -> list[list[str]]:
    """``values`` without blanks and repeats, in lists of at most ``size``."""
    unique = list(dict.fromkeys(v for v in values if v))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def _email_keys(contact: XeroContactData) -> list[str]:
    """The contact's own and its contact persons' addresses, keyed as matching compares them."""
    keys = [contact.email or "", *contact.person_emails]
    return list(dict.fromkeys(email_key(k) for k in keys if k and k.strip()))


def _contact(c: XeroContactData) -> dict[str, Any]:
    return {
        "name": c.name,
        "name_key": name_key(c.name),
        "email": c.email,
        "status": c.status,
        "is_customer": c.is_customer,
        "is_supplier": c.is_supplier,
        "merged_to_contact_id": c.merged_to_contact_id,
        "updated_at": c.updated_at,
    }


def _document_values(
    kind: str, doc: XeroInvoice | XeroCreditNote, balance: Any, **more: Any
) -> dict[str, Any]:
    """The columns invoices and credit notes share, plus ``more``."""
    return {
        "kind": kind,
        "xero_type": doc.type,
        "number": doc.number,
        "reference": doc.reference,
        "contact_id": doc.contact_id or "",
        "status": doc.status,
        "date": doc.date,
        "currency": doc.currency,
        "total": doc.total,
        "balance": balance,
        "updated_at": doc.updated_at,
        **more,
    }


def _invoice(i: XeroInvoice) -> dict[str, Any]:
    return _document_values(
        "invoice",
        i,
        i.amount_due,
        due_date=i.due_date,
        amount_paid=i.amount_paid,
        amount_credited=i.amount_credited,
        fully_paid_on=i.fully_paid_on,
        expected_payment_on=i.expected_payment_on,
    )


def _credit_note(n: XeroCreditNote) -> dict[str, Any]:
    paid = n.total - n.remaining_credit
    return _document_values("credit_note", n, n.remaining_credit, due_date=None, amount_paid=paid)


def _emails(row: XeroContact, contact: XeroContactData) -> None:
    keys = _email_keys(contact)
    if [e.email_key for e in row.emails] != keys:
        row.emails = [ContactEmail(organisation_id=row.organisation_id, email_key=k) for k in keys]


def _payments(row: Invoice, invoice: XeroInvoice) -> None:
    payments = [
        (p.payment_id, p.date, p.amount, p.reference)
        for p in invoice.payments
        if p.status != "DELETED"
    ]
    if [(p.payment_id, p.date, p.amount, p.reference) for p in row.payments] != payments:
        # Keep the rows of payments still there (a payment is unique per invoice, and a
        # flush inserts new rows before it deletes old ones), add new ones, drop the rest.
        existing = {p.payment_id: p for p in row.payments}
        kept: dict[str, Payment] = {}
        for pid, date, amount, reference in payments:
            payment = existing.pop(pid, None) or kept.get(pid) or Payment(payment_id=pid)
            payment.date, payment.amount, payment.reference = date, amount, reference
            kept[pid] = payment
        row.payments = list(kept.values())


@dataclass(frozen=True)
class Kind:
    """How one kind of Xero record is cached.

    :ivar model: the table's model, keyed on its ``key`` column (the Xero ID).
    :ivar id_field: the record's attribute holding that ID.
    :ivar sales_type: keep only records of this ``type`` (``None``: keep all).
    :ivar values: the columns to set from a record; ``after`` sets its children.
    """

    model: Any
    key: str
    id_field: str
    sales_type: str | None
    values: Callable[[Any], Mapping[str, Any]]
    after: Callable[[Any, Any], None] | None = None

    def key_of(self, record: Any) -> str:
        """The record's Xero ID."""
        return str(getattr(record, self.id_field))

    def keep(self, record: Any) -> bool:
        """Whether the cache wants the record."""
        return self.sales_type is None or bool(record.type == self.sales_type)

    @property
    def children(self) -> Any:
        """The relationship loaded with each row (a contact's emails, a document's payments)."""
        return XeroContact.emails if self.model is XeroContact else Invoice.payments


KINDS: dict[RecordKind, Kind] = {
    "contacts": Kind(XeroContact, "contact_id", "contact_id", None, _contact, _emails),
    "invoices": Kind(Invoice, "xero_id", "invoice_id", "ACCREC", _invoice, _payments),
    "credit_notes": Kind(Invoice, "xero_id", "credit_note_id", "ACCRECCREDIT", _credit_note),
}


def unstorable(kind: RecordKind, record: Any) -> str | None:
    """Why the cache cannot store ``record`` (``None``: it can): an ID it keys on longer than
    :data:`~xero_panel.models.ID_LENGTH`. The same on every database (SQLite would store it,
    PostgreSQL refuse it)."""
    ids = [KINDS[kind].key_of(record), str(getattr(record, "contact_id", None) or "")]
    if any(len(value) > ID_LENGTH for value in ids):
        return f"a {kind[:-1].replace('_', ' ')} whose ID is longer than {ID_LENGTH} characters"
    return None


class CacheWriter:
    """Upserts into one organisation's cache.

    A record the cache cannot store (:func:`unstorable`, or a value the database refuses)
    is skipped and its reason kept in :attr:`skipped`; the rest of the page is stored.
    """

    def __init__(self, session: Session, organisation_id: int) -> None:
        self.session = session
        self.organisation_id = organisation_id
        #: Why each skipped record could not be stored, in order.
        self.skipped: list[str] = []

    def store(self, kind: RecordKind, records: Sequence[Any]) -> int:
        """Add or update the cached rows of ``records`` (the caller flushes and commits).

        :return: how many records were stored (those the cache keeps).
        """
        spec = KINDS[kind]
        wanted = []
        for record in records:
            if not spec.keep(record):
                continue
            reason = unstorable(kind, record)
            if reason is None:
                wanted.append(record)
            else:
                self.skipped.append(reason)
        if not wanted:
            return 0
        column = getattr(spec.model, spec.key)
        existing = {
            getattr(row, spec.key): row
            for row in self.session.scalars(
                select(spec.model)
                .where(
                    spec.model.organisation_id == self.organisation_id,
                    column.in_([spec.key_of(r) for r in wanted]),
                )
                .options(selectinload(spec.children))
            )
        }
        # Matching reads the contacts, and which of them have sales invoices.
        match_changes = spec.model is XeroContact
        for record in wanted:
            key = spec.key_of(record)
            row = existing.get(key)
            values = spec.values(record)
            if row is None:
                row = spec.model(organisation_id=self.organisation_id, **{spec.key: key})
                self.session.add(row)
                existing[key] = row
                match_changes = match_changes or kind == "invoices"
            elif kind == "invoices" and row.contact_id != values["contact_id"]:
                match_changes = True
            for name, value in values.items():
                setattr(row, name, value)
            if spec.after is not None:
                spec.after(row, record)
        if match_changes:
            self._match_changed()
        return len(wanted)

    def _match_changed(self) -> None:
        """Count up the organisation's ``match_version`` in the transaction of a write that
        can change which contacts a record matches, so a view's kept match
        (:mod:`xero_panel.known_matches`) is never reused after it."""
        self.session.execute(
            update(SyncState)
            .where(SyncState.organisation_id == self.organisation_id)
            .values(match_version=SyncState.match_version + 1)
        )

    def write(self, kind: RecordKind, records: Sequence[Any]) -> int:
        """Store one page and commit; if another worker inserted the same rows (or replaced
        the same payments) at the same moment, roll back and store them again (they are
        updates now)."""
        skipped = len(self.skipped)
        try:
            try:
                count = self.store(kind, records)
                self.session.commit()
            except (IntegrityError, StaleDataError):
                self.session.rollback()
                del self.skipped[skipped:]
                count = self.store(kind, records)
                self.session.commit()
        except DataError:
            # A value the database refuses: store the page record by record, skipping those.
            self.session.rollback()
            del self.skipped[skipped:]
            count = self._one_by_one(kind, records)
        return count

    def _one_by_one(self, kind: RecordKind, records: Sequence[Any]) -> int:
        count = 0
        for record in records:
            try:
                with self.session.begin_nested():  # flushed when the block ends
                    stored = self.store(kind, [record])
            except DataError as exc:
                reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
                self.skipped.append(f"{KINDS[kind].key_of(record)}: {reason}"[:300])
                continue
            count += stored
        self.session.commit()
        return count

    def unknown_contact_ids(self, contact_ids: Iterable[str]) -> list[str]:
        """The ``contact_ids`` the cache does not hold yet."""
        wanted = list(dict.fromkeys(c for c in contact_ids if c))
        known: set[str] = set()
        for batch in batches(wanted, 500):
            known.update(
                self.session.scalars(
                    select(XeroContact.contact_id).where(
                        XeroContact.organisation_id == self.organisation_id,
                        XeroContact.contact_id.in_(batch),
                    )
                )
            )
        return [c for c in wanted if c not in known]

    def cached_contact_ids_named(self) -> set[str]:
        """The ContactIDs the cached invoices and credit notes name."""
        return set(
            self.session.scalars(
                select(Invoice.contact_id)
                .where(Invoice.organisation_id == self.organisation_id)
                .distinct()
            )
        )

    def open_invoice_ids(self) -> set[str]:
        """The Xero IDs of the cached invoices that are AUTHORISED (not yet paid or voided)."""
        return set(
            self.session.scalars(
                select(Invoice.xero_id).where(
                    Invoice.organisation_id == self.organisation_id,
                    Invoice.kind == "invoice",
                    Invoice.status == "AUTHORISED",
                )
            )
        )

    def remove_contacts_except(
        self, keep: set[str], *, changed_before: dt.datetime | None = None
    ) -> int:
        """Delete the cached contacts whose ContactID is not in ``keep`` (with
        ``changed_before``, only those Xero last changed before it: a contact made while a
        list was read, and stored by another sync meanwhile, stays)."""
        rows = self.session.execute(
            select(XeroContact.id, XeroContact.contact_id, XeroContact.updated_at).where(
                XeroContact.organisation_id == self.organisation_id
            )
        ).all()
        stale = [
            pk
            for pk, contact_id, changed in rows
            if contact_id not in keep
            and (changed_before is None or changed is None or changed < changed_before)
        ]
        for batch in [stale[i : i + 500] for i in range(0, len(stale), 500)]:
            self.session.execute(delete(ContactEmail).where(ContactEmail.contact_pk.in_(batch)))
            self.session.execute(delete(XeroContact).where(XeroContact.id.in_(batch)))
        if stale:
            self._match_changed()
        return len(stale)
