"""Helpers that fill the cache for the panel's tests, without Xero or the sync.

``Cache`` adds organisations, contacts, invoices, payments and credit notes row by row.
``load_tenant`` stores one emulator seed tenant (parsed with ``xero_panel.xero.types``) with
the sync's column values; it stands in for the sync in the browser tests when the demo
runs none.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy.orm import Session

from xero_panel.models import (
    Connection,
    ContactEmail,
    Invoice,
    Organisation,
    Payment,
    SyncState,
    XeroContact,
)
from xero_panel.sync.cache_writer import KINDS, RecordKind
from xero_panel.xero.dates import loads_json
from xero_panel.xero.types import Contact as XeroContactData
from xero_panel.xero.types import Invoice as XeroInvoiceData
from xero_panel.xero.types import parse_contact, parse_credit_note, parse_invoice

#: The fixed clock of the unit tests: already 22 November in Pacific/Auckland.
NOW = dt.datetime(2026, 11, 21, 11, 30, tzinfo=dt.UTC)
TODAY_NZ = dt.date(2026, 11, 22)
_counter = itertools.count(1)
T = TypeVar("T")


def new_id() -> str:
    return str(uuid.uuid4())


class Cache:
    """Adds rows to the cache, flushing as it goes.

    ``today`` is the day the rows are built for: an invoice's default date and due date, and
    a credit note's date, are counted from it (an invoice 52 days old, due in 9 days), so a
    test's rows mean the same on whatever day its clock shows. The default is the unit
    tests' fixed day, :data:`TODAY_NZ`; the app-level tests pass their ``clock.today``.
    """

    def __init__(self, session: Session, today: dt.date = TODAY_NZ) -> None:
        self.session = session
        self.today = today

    def stored(self, row: T) -> T:
        """Add a row and flush it (so it has its id)."""
        self.session.add(row)
        self.session.flush()
        return row

    def connection(self, crm_account: str, status: str = "active") -> Connection:
        return self.stored(Connection(crm_account=crm_account, status=status))

    def organisation(
        self,
        connection: Connection,
        name: str = "Kiwi Garden Supplies Ltd",
        *,
        short_code: str | None = "!kGs7Q",
        timezone: str = "Pacific/Auckland",
        selected: bool = True,
    ) -> Organisation:
        organisation = Organisation(
            connection_id=connection.id,
            tenant_id=new_id(),
            name=name,
            short_code=short_code,
            timezone=timezone,
            selected=selected,
        )
        return self.stored(organisation)

    def synced(self, organisation: Organisation, at: dt.datetime = NOW, **fields: Any) -> None:
        self.stored(SyncState(organisation_id=organisation.id, fresh_at=at, **fields))

    def contact(
        self,
        organisation: Organisation,
        name: str,
        *,
        email: str | None = None,
        persons: Sequence[str] = (),
        is_customer: bool = True,
        is_supplier: bool = False,
        merged_to: str | None = None,
        contact_id: str | None = None,
    ) -> XeroContact:
        contact = XeroContact(
            organisation_id=organisation.id,
            contact_id=contact_id or new_id(),
            name=name,
            name_key="".join(name.split()).lower(),
            email=email,
            is_customer=is_customer,
            is_supplier=is_supplier,
            merged_to_contact_id=merged_to,
        )
        keys = [e.strip().lower() for e in ([email] if email else []) + list(persons)]
        contact.emails = [
            ContactEmail(organisation_id=organisation.id, email_key=k) for k in dict.fromkeys(keys)
        ]
        return self.stored(contact)

    def invoice(
        self,
        organisation: Organisation,
        contact: XeroContact | str,
        *,
        number: str | None = None,
        date: dt.date | None = None,
        due: dt.date | Literal["default"] | None = "default",
        total: str = "100.00",
        paid: str = "0.00",
        payments: Sequence[tuple[dt.date, str]] = (),
        status: str | None = None,
        currency: str = "NZD",
        xero_type: str = "ACCREC",
        xero_id: str | None = None,
    ) -> Invoice:
        total_d = Decimal(total)
        paid_d = Decimal(paid)
        if payments and paid == "0.00":
            paid_d = sum((Decimal(a) for _, a in payments), Decimal("0.00"))
        balance = total_d - paid_d
        return self._document(
            organisation,
            contact,
            xero_id=xero_id,
            kind="invoice",
            xero_type=xero_type,
            number=number or f"INV-{next(_counter):04d}",
            status=status or ("PAID" if balance == 0 else "AUTHORISED"),
            date=date or self.today - dt.timedelta(days=52),
            due_date=self.today + dt.timedelta(days=9) if due == "default" else due,
            currency=currency,
            total=total_d,
            balance=balance,
            amount_paid=paid_d,
            payments=[
                Payment(payment_id=new_id(), date=d, amount=Decimal(a), reference=None)
                for d, a in payments
            ],
        )

    def credit_note(
        self,
        organisation: Organisation,
        contact: XeroContact | str,
        *,
        number: str | None = None,
        date: dt.date | None = None,
        total: str = "50.00",
        remaining: str = "50.00",
        status: str = "AUTHORISED",
        currency: str = "NZD",
    ) -> Invoice:
        return self._document(
            organisation,
            contact,
            kind="credit_note",
            xero_type="ACCRECCREDIT",
            number=number or f"CN-{next(_counter):04d}",
            status=status,
            date=date or self.today - dt.timedelta(days=48),
            due_date=None,
            currency=currency,
            total=Decimal(total),
            balance=Decimal(remaining),
            amount_paid=Decimal(total) - Decimal(remaining),
        )

    def _document(
        self,
        organisation: Organisation,
        contact: XeroContact | str,
        *,
        xero_id: str | None = None,
        **fields: Any,
    ) -> Invoice:
        document = Invoice(
            organisation_id=organisation.id,
            xero_id=xero_id or new_id(),
            contact_id=contact if isinstance(contact, str) else contact.contact_id,
            amount_credited=Decimal("0.00"),
            **fields,
        )
        return self.stored(document)


def load_tenant(session: Session, organisation: Organisation, tenant: Mapping[str, Any]) -> None:
    """Store an emulator seed tenant's contacts, invoices and customer credit notes in the
    cache with the sync's own column values (``cache_writer.KINDS``); unlike the sync, keep
    its supplier bills too, to show the panel never lists them."""
    data = loads_json(json.dumps(tenant, default=str))
    records: dict[RecordKind, tuple[str, Callable[[Any], Any]]] = {
        "contacts": ("Contacts", parse_contact),
        "invoices": ("Invoices", parse_invoice),
        "credit_notes": ("CreditNotes", parse_credit_note),
    }
    for kind, (field, parse) in records.items():
        spec = KINDS[kind]
        for record in map(parse, data.get(field) or []):
            if kind == "credit_notes" and not spec.keep(record):
                continue
            row = spec.model(organisation_id=organisation.id, **{spec.key: spec.key_of(record)})
            for name, value in spec.values(record).items():
                setattr(row, name, value)
            if spec.after is not None:
                spec.after(row, record)
            session.add(row)
    session.flush()


#: Xero's UpdatedDateUTC of the records below unless told otherwise.
XERO_UPDATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def xero_contact(
    contact_id: str,
    name: str,
    email: str,
    *,
    customer: bool,
    merged: str | None = None,
    updated: dt.datetime = XERO_UPDATED,
) -> XeroContactData:
    """A contact as Xero's API gives it (what the sync hands the cache writer)."""
    return XeroContactData(
        contact_id=contact_id,
        name=name,
        first_name=None,
        last_name=None,
        email=email,
        person_emails=(),
        status="ACTIVE",
        is_customer=customer,
        is_supplier=not customer,
        merged_to_contact_id=merged,
        updated_at=updated,
    )


def xero_sale(
    invoice_id: str,
    number: str,
    contact_id: str,
    *,
    today: dt.date,
    paid: str = "0",
    updated: dt.datetime = XERO_UPDATED,
) -> XeroInvoiceData:
    """An authorised sales invoice of 40.00 NZD due in a week, as Xero's API gives it."""
    return XeroInvoiceData(
        invoice_id=invoice_id,
        number=number,
        type="ACCREC",
        status="AUTHORISED",
        contact_id=contact_id,
        contact_name=None,
        date=today,
        due_date=today + dt.timedelta(days=7),
        currency="NZD",
        total=Decimal("40.00"),
        amount_due=Decimal("40.00") - Decimal(paid),
        amount_paid=Decimal(paid),
        amount_credited=Decimal("0"),
        fully_paid_on=None,
        updated_at=updated,
        reference=None,
        payments=(),
    )
