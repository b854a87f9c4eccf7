"""The panel's reads from the local cache: the six views, search, dates, paging and totals.

Plain SQLAlchemy (no Flask), and never a call to Xero. One panel page costs a fixed number
of queries whatever the number of invoices: a count, the page of rows, their payments (one
``selectinload``), the record's pins and the totals.

Semantics (DESIGN.md): only sales invoices (``ACCREC``) with status ``AUTHORISED`` or
``PAID`` are listed, plus customer credit notes (``ACCRECCREDIT``, ``AUTHORISED`` or
``PAID``) in the *All* view only. "Today" is the date in each organisation's timezone.

==========  ======================================================================
view        rule
==========  ======================================================================
``unpaid``  balance > 0
``open``    balance > 0 and due date >= today (due today is not yet overdue)
``overdue`` balance > 0 and due date < today
``paid``    balance = 0 and status ``PAID``
``pinned``  pinned to the record, whatever its status now (voided, deleted: marked)
``all``     every listed invoice and credit note
==========  ======================================================================
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from .models import Invoice, Organisation, Pin
from .panel_params import ViewName

#: A row's state, as the HTML contract's ``data-status`` spells it.
RowStatus = Literal["paid", "partially-paid", "open", "overdue", "voided"]
#: The Xero statuses the panel lists (drafts, submitted, voided, deleted are not receivables).
LISTED_STATUSES = ("AUTHORISED", "PAID")
INVOICE_TYPE = "ACCREC"
CREDIT_NOTE_TYPE = "ACCRECCREDIT"

_ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RecordRef:
    """The CRM record a panel belongs to (pins are stored per CRM account and record)."""

    crm_account: str
    record_type: str
    record_id: str


@dataclass(frozen=True)
class PaymentRow:
    """One payment (instalment) of an invoice, numbered from 1 in date order."""

    number: int
    date: dt.date
    amount: Decimal
    reference: str | None


@dataclass(frozen=True)
class InvoiceRow:
    """One row of the panel: an invoice or a credit note as the panel shows it.

    :ivar invoice_id: Xero's ``InvoiceID`` (or ``CreditNoteID``).
    :ivar missing: pinned, but no longer in the cache (deleted in Xero).
    :ivar days_overdue: days since the due date, for unpaid invoices past it.
    """

    organisation_id: int
    organisation_name: str
    short_code: str | None
    invoice_id: str
    number: str
    kind: Literal["invoice", "credit_note"]
    xero_status: str
    status: RowStatus
    date: dt.date | None
    due_date: dt.date | None
    currency: str
    total: Decimal
    balance: Decimal
    amount_paid: Decimal
    days_overdue: int | None
    payments: tuple[PaymentRow, ...]
    pinned: bool
    missing: bool = False

    @property
    def shows_payments(self) -> bool:
        """Whether the row offers the *Payments* tooltip: two or more payments, or a
        part-paid invoice."""
        if self.kind != "invoice" or self.status == "voided" or not self.payments:
            return False
        return len(self.payments) >= 2 or (self.amount_paid > 0 and self.balance > 0)


@dataclass(frozen=True)
class CurrencyTotal:
    """*Total paid* (sum of AmountPaid) and *Total unpaid* (sum of AmountDue) in one
    currency, over every listed invoice of the record (credit notes excluded)."""

    currency: str
    paid: Decimal
    unpaid: Decimal


@dataclass(frozen=True)
class PanelPage:
    """One page of one view, with the record's totals.

    :ivar count: rows in the view (after search and dates), over all pages.
    """

    rows: tuple[InvoiceRow, ...]
    count: int
    page: int
    page_size: int
    totals: tuple[CurrencyTotal, ...]

    @property
    def last_page(self) -> int:
        """The last page number (1 for an empty view)."""
        return max(1, math.ceil(self.count / self.page_size))

    @property
    def has_more(self) -> bool:
        """Whether a further page exists."""
        return self.page < self.last_page


def utcnow() -> dt.datetime:
    """The current time, aware UTC (the default clock)."""
    return dt.datetime.now(dt.UTC)


def today_in(organisation: Organisation, now: dt.datetime) -> dt.date:
    """The date it is in the organisation's timezone at ``now`` (UTC when its zone is
    unknown)."""
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(organisation.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return now.astimezone(zone).date()


def deep_link(base_url: str, short_code: str | None, kind: str, xero_id: str) -> str:
    """The URL that opens an invoice or credit note in Xero, in the right organisation.

    With the organisation's short code, Xero's login switches to that organisation first:
    ``{base}/organisationlogin/default.aspx?shortcode=...&redirecturl=...``.
    """
    if kind == "credit_note":
        path = f"/AccountsReceivable/ViewCreditNote.aspx?creditNoteID={quote(xero_id, safe='')}"
    else:
        path = f"/AccountsReceivable/View.aspx?InvoiceID={quote(xero_id, safe='')}"
    base = base_url.rstrip("/")
    if not short_code:
        return f"{base}{path}"
    return (
        f"{base}/organisationlogin/default.aspx?shortcode={quote(short_code, safe='')}"
        f"&redirecturl={quote(path, safe='')}"
    )


def _listed(kinds: Sequence[str] = (INVOICE_TYPE,)) -> ColumnElement[bool]:
    return and_(Invoice.xero_type.in_(list(kinds)), Invoice.status.in_(LISTED_STATUSES))


def _contacts_condition(contacts: Sequence[tuple[int, str]]) -> ColumnElement[bool]:
    by_org: dict[int, list[str]] = {}
    for organisation_id, contact_id in contacts:
        by_org.setdefault(organisation_id, []).append(contact_id)
    if not by_org:
        return false()
    return or_(
        *(
            and_(Invoice.organisation_id == org, Invoice.contact_id.in_(sorted(ids)))
            for org, ids in sorted(by_org.items())
        )
    )


def _due_condition(
    organisations: Sequence[Organisation], now: dt.datetime, overdue: bool
) -> ColumnElement[bool]:
    parts = []
    for organisation in organisations:
        today = today_in(organisation, now)
        if overdue:
            due = and_(Invoice.due_date.is_not(None), Invoice.due_date < today)
        else:
            due = or_(Invoice.due_date.is_(None), Invoice.due_date >= today)
        parts.append(and_(Invoice.organisation_id == organisation.id, due))
    return or_(*parts) if parts else false()


def _pins_of(record: RecordRef, org_ids: Sequence[int]) -> Any:
    return select(Pin).where(
        Pin.crm_account == record.crm_account,
        Pin.record_type == record.record_type,
        Pin.record_id == record.record_id,
        Pin.organisation_id.in_(list(org_ids)),
    )


def _view_condition(
    view: ViewName, organisations: Sequence[Organisation], now: dt.datetime
) -> ColumnElement[bool]:
    if view == "all":
        return _listed((INVOICE_TYPE, CREDIT_NOTE_TYPE))
    listed = _listed()
    if view == "paid":
        return and_(listed, Invoice.balance == 0, Invoice.status == "PAID")
    unpaid = and_(listed, Invoice.balance > 0)
    if view == "open":
        return and_(unpaid, _due_condition(organisations, now, overdue=False))
    if view == "overdue":
        return and_(unpaid, _due_condition(organisations, now, overdue=True))
    return unpaid


def _narrow(q: str, date_from: dt.date | None, date_to: dt.date | None) -> list[Any]:
    conditions: list[Any] = []
    if q:
        conditions.append(Invoice.number.icontains(q, autoescape=True))
    if date_from is not None:
        conditions.append(Invoice.date >= date_from)
    if date_to is not None:
        conditions.append(Invoice.date <= date_to)
    return conditions


def panel_page(
    session: Session,
    organisations: Sequence[Organisation],
    contacts: Sequence[tuple[int, str]],
    *,
    record: RecordRef,
    view: ViewName = "unpaid",
    q: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    page: int = 1,
    page_size: int = 25,
    now: dt.datetime | None = None,
) -> PanelPage:
    """One page of a view of the record's invoices, newest first, with its totals.

    :param contacts: ``(organisation_id, ContactID)`` pairs the record matched.
    :param now: the clock ("today" per organisation); default the current time.

    A ``page`` past the last one gives no rows (the caller decides whether that is an
    error: compare with :attr:`PanelPage.last_page`).
    """
    now = now or utcnow()
    org_by_id = {o.id: o for o in organisations}
    org_ids = list(org_by_id)
    narrow = _narrow(q, date_from, date_to)
    offset = (page - 1) * page_size
    totals = record_totals(session, contacts)
    if view == "pinned":
        return _pinned_page(
            session, org_by_id, record, narrow, page, page_size, offset, totals, now
        )
    pinned_keys = {
        (pin.organisation_id, pin.xero_invoice_id)
        for pin in session.scalars(_pins_of(record, org_ids))
    }

    where = and_(
        Invoice.organisation_id.in_(org_ids),
        _contacts_condition(contacts),
        _view_condition(view, organisations, now),
        *narrow,
    )
    count = session.scalar(select(func.count(Invoice.id)).where(where)) or 0
    invoices = session.scalars(
        select(Invoice)
        .where(where)
        .options(selectinload(Invoice.payments))
        .order_by(Invoice.date.desc(), Invoice.number.desc(), Invoice.id.desc())
        .offset(offset)
        .limit(page_size)
    )
    rows = tuple(
        make_row(
            invoice,
            org_by_id[invoice.organisation_id],
            now,
            pinned=(invoice.organisation_id, invoice.xero_id) in pinned_keys,
        )
        for invoice in invoices
    )
    return PanelPage(rows=rows, count=count, page=page, page_size=page_size, totals=totals)


def _pinned_page(
    session: Session,
    org_by_id: dict[int, Organisation],
    record: RecordRef,
    narrow: list[Any],
    page: int,
    page_size: int,
    offset: int,
    totals: tuple[CurrencyTotal, ...],
    now: dt.datetime,
) -> PanelPage:
    # An outer join: a pinned invoice stays listed even when the sync removed it.
    joined = (
        select(Pin, Invoice)
        .outerjoin(
            Invoice,
            and_(
                Invoice.organisation_id == Pin.organisation_id,
                Invoice.xero_id == Pin.xero_invoice_id,
                Invoice.xero_type.in_((INVOICE_TYPE, CREDIT_NOTE_TYPE)),
            ),
        )
        .where(
            Pin.crm_account == record.crm_account,
            Pin.record_type == record.record_type,
            Pin.record_id == record.record_id,
            Pin.organisation_id.in_(list(org_by_id)),
            *narrow,
        )
    )
    count = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    result = session.execute(
        joined.options(selectinload(Invoice.payments))
        .order_by(
            Invoice.date.is_(None),
            Invoice.date.desc(),
            Invoice.number.desc(),
            Pin.id.desc(),
        )
        .offset(offset)
        .limit(page_size)
    ).all()
    rows = []
    for pin, found in result:
        organisation = org_by_id[pin.organisation_id]
        invoice: Invoice | None = found
        if invoice is None:
            rows.append(missing_row(pin, organisation))
        else:
            rows.append(make_row(invoice, organisation, now, pinned=True))
    return PanelPage(rows=tuple(rows), count=count, page=page, page_size=page_size, totals=totals)


def record_totals(
    session: Session, contacts: Sequence[tuple[int, str]]
) -> tuple[CurrencyTotal, ...]:
    """*Total paid* and *Total unpaid* per currency over the record's listed invoices
    (not narrowed by view, search or dates; credit notes excluded), by currency code."""
    if not contacts:
        return ()
    rows = session.execute(
        select(Invoice.currency, func.sum(Invoice.amount_paid), func.sum(Invoice.balance))
        .where(_contacts_condition(contacts), _listed())
        .group_by(Invoice.currency)
        .order_by(Invoice.currency)
    ).all()
    return tuple(
        CurrencyTotal(currency=currency, paid=_cents(paid), unpaid=_cents(unpaid))
        for currency, paid, unpaid in rows
    )


def _cents(value: Decimal | None) -> Decimal:
    # SUM keeps the Money type, so sums come back as Decimal amounts already.
    return _ZERO if value is None else value


def row_status(invoice: Invoice, today: dt.date) -> tuple[RowStatus, int | None]:
    """A row's status and, for an unpaid invoice past its due date, the days overdue.

    Voided and deleted documents (only ever shown because they are pinned) are
    ``voided``. An unpaid invoice past its due date is ``overdue`` even when part-paid
    (the tooltip and the status text say how much was paid).
    """
    if invoice.status not in LISTED_STATUSES:
        return "voided", None
    if invoice.balance <= 0:
        return "paid", None
    if invoice.kind == "credit_note":
        return "open", None
    if invoice.due_date is not None and invoice.due_date < today:
        return "overdue", (today - invoice.due_date).days
    if invoice.amount_paid > 0:
        return "partially-paid", None
    return "open", None


def _payment_order(payment: Any) -> tuple[dt.date, int]:
    return (payment.date, payment.id or 0)


def make_row(
    invoice: Invoice, organisation: Organisation, now: dt.datetime, *, pinned: bool
) -> InvoiceRow:
    """The panel row for a cached invoice or credit note."""
    status, days = row_status(invoice, today_in(organisation, now))
    kind: Literal["invoice", "credit_note"] = (
        "credit_note" if invoice.kind == "credit_note" else "invoice"
    )
    payments = tuple(
        PaymentRow(number=i, date=p.date, amount=p.amount, reference=p.reference)
        for i, p in enumerate(sorted(invoice.payments, key=_payment_order), start=1)
    )
    return InvoiceRow(
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        short_code=organisation.short_code,
        invoice_id=invoice.xero_id,
        number=invoice.number,
        kind=kind,
        xero_status=invoice.status,
        status=status,
        date=invoice.date,
        due_date=invoice.due_date,
        currency=invoice.currency,
        total=invoice.total,
        balance=invoice.balance,
        amount_paid=invoice.amount_paid,
        days_overdue=days,
        payments=payments,
        pinned=pinned,
    )


def missing_row(pin: Pin, organisation: Organisation) -> InvoiceRow:
    """The row of a pinned invoice the cache no longer has (deleted in Xero)."""
    return InvoiceRow(
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        short_code=organisation.short_code,
        invoice_id=pin.xero_invoice_id,
        number="",
        kind="invoice",
        xero_status="DELETED",
        status="voided",
        date=None,
        due_date=None,
        currency="",
        total=_ZERO,
        balance=_ZERO,
        amount_paid=_ZERO,
        days_overdue=None,
        payments=(),
        pinned=True,
        missing=True,
    )


def record_invoice_row(
    session: Session,
    organisations: Sequence[Organisation],
    contacts: Sequence[tuple[int, str]],
    *,
    record: RecordRef,
    organisation_id: int,
    invoice_id: str,
    now: dt.datetime | None = None,
) -> InvoiceRow | None:
    """One of the record's own rows, for pinning: a listed invoice or credit note of the
    record's matched contacts, or one already pinned to the record. ``None`` otherwise."""
    now = now or utcnow()
    org_by_id = {o.id: o for o in organisations}
    organisation = org_by_id.get(organisation_id)
    if organisation is None:
        return None
    pin = session.scalars(
        _pins_of(record, [organisation_id]).where(Pin.xero_invoice_id == invoice_id)
    ).first()
    invoice = session.scalars(
        select(Invoice)
        .where(
            Invoice.organisation_id == organisation_id,
            Invoice.xero_id == invoice_id,
            Invoice.xero_type.in_((INVOICE_TYPE, CREDIT_NOTE_TYPE)),
        )
        .options(selectinload(Invoice.payments))
    ).first()
    if pin is not None:
        if invoice is None:
            return missing_row(pin, organisation)
        return make_row(invoice, organisation, now, pinned=True)
    if invoice is None or invoice.status not in LISTED_STATUSES:
        return None
    if (organisation_id, invoice.contact_id) not in set(contacts):
        return None
    return make_row(invoice, organisation, now, pinned=False)


def pin_invoice(
    session: Session,
    *,
    record: RecordRef,
    organisation_id: int,
    invoice_id: str,
    pinned_by: str | None,
) -> None:
    """Pin an invoice to a record (idempotent). The caller checks the invoice is the
    record's (:func:`record_invoice_row`) and commits."""
    existing = session.scalars(
        _pins_of(record, [organisation_id]).where(Pin.xero_invoice_id == invoice_id)
    ).first()
    if existing is None:
        session.add(
            Pin(
                crm_account=record.crm_account,
                record_type=record.record_type,
                record_id=record.record_id,
                organisation_id=organisation_id,
                xero_invoice_id=invoice_id,
                pinned_by=pinned_by,
            )
        )


def unpin_invoice(
    session: Session, *, record: RecordRef, organisation_id: int, invoice_id: str
) -> None:
    """Unpin an invoice from a record (idempotent). The caller commits."""
    for pin in session.scalars(
        _pins_of(record, [organisation_id]).where(Pin.xero_invoice_id == invoice_id)
    ):
        session.delete(pin)


def has_cached_data(session: Session, organisations: Sequence[Organisation]) -> bool:
    """Whether anything at all is cached for these organisations."""
    org_ids = [o.id for o in organisations]
    if not org_ids:
        return False
    return (
        session.scalar(select(Invoice.id).where(Invoice.organisation_id.in_(org_ids)).limit(1))
        is not None
    )
