"""The panel's reads from the local cache: the six views, search, dates, paging, totals and
pins.

Plain SQLAlchemy (no Flask), and never a call to Xero. One panel page costs a fixed number
of queries whatever the number of invoices: a count, the page of rows, their payments (one
``selectinload``), the record's pins and the totals. Which documents each view lists is
stated in :mod:`.view_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from ..models import Invoice, Organisation, Pin
from .params import AgeBucket, SortName, ViewName
from .rows import (
    AgeAmount,
    CurrencyTotal,
    InvoiceRow,
    PanelPage,
    RecordRef,
    make_row,
    missing_row,
    utcnow,
)
from .summaries import contacts_condition, record_aging, record_totals
from .view_rules import (
    LISTED,
    VIEW_RULES,
    age_rule,
    rule_condition,
    sort_order,
    view_condition,
)


def _pins_of(record: RecordRef, org_ids: Sequence[int]) -> Any:
    return select(Pin).where(
        *Pin.of_record(record.crm_account, record.record_type, record.record_id, org_ids),
    )


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
    sort: SortName = "date",
    age: AgeBucket | None = None,
    page: int = 1,
    page_size: int = 25,
    now: dt.datetime | None = None,
) -> PanelPage:
    """One page of a view of the record's invoices in the ``sort`` order (newest first by
    default), narrowed to an ageing bucket by ``age``, with its totals and ageing strip.

    :param contacts: ``(organisation_id, ContactID)`` pairs the record matched.
    :param now: the clock ("today" per organisation); default the current time.

    A ``page`` past the last one gives no rows (the caller decides whether that is an
    error: compare with :attr:`PanelPage.last_page`).
    """
    now = now or utcnow()
    org_by_id = {o.id: o for o in organisations}
    org_ids = list(org_by_id)
    narrow = _narrow(q, date_from, date_to)
    if age is not None:
        narrow.append(rule_condition(age_rule(age), organisations, now))
    offset = (page - 1) * page_size
    totals = record_totals(session, contacts)
    aging = record_aging(session, org_by_id, contacts, now)
    if view == "pinned":
        return _pinned_page(
            session,
            org_by_id,
            record,
            narrow,
            page,
            page_size,
            offset,
            (totals, aging),
            now,
            sort,
        )
    pinned_keys = {
        (pin.organisation_id, pin.xero_invoice_id)
        for pin in session.scalars(_pins_of(record, org_ids))
    }

    where = and_(
        Invoice.organisation_id.in_(org_ids),
        contacts_condition(contacts),
        view_condition(view, organisations, now),
        *narrow,
    )
    count = session.scalar(select(func.count(Invoice.id)).where(where)) or 0
    invoices = session.scalars(
        select(Invoice)
        .where(where)
        .options(selectinload(Invoice.payments))
        .order_by(*sort_order(sort))
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
    return PanelPage(
        rows=rows, count=count, page=page, page_size=page_size, totals=totals, aging=aging
    )


def _pinned_page(
    session: Session,
    org_by_id: dict[int, Organisation],
    record: RecordRef,
    narrow: list[Any],
    page: int,
    page_size: int,
    offset: int,
    summary: tuple[tuple[CurrencyTotal, ...], tuple[AgeAmount, ...]],
    now: dt.datetime,
    sort: SortName,
) -> PanelPage:
    # An outer join: a pinned invoice stays listed even when the sync removed it.
    joined = (
        select(Pin, Invoice)
        .outerjoin(
            Invoice,
            and_(
                Invoice.organisation_id == Pin.organisation_id,
                Invoice.xero_id == Pin.xero_invoice_id,
                rule_condition(VIEW_RULES["pinned"]),
            ),
        )
        .where(
            *Pin.of_record(record.crm_account, record.record_type, record.record_id, org_by_id),
            *narrow,
        )
    )
    count = session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    result = session.execute(
        joined.options(selectinload(Invoice.payments))
        .order_by(Invoice.date.is_(None), *sort_order(sort), Pin.id.desc())
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
    totals, aging = summary
    return PanelPage(
        rows=tuple(rows), count=count, page=page, page_size=page_size, totals=totals, aging=aging
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
            rule_condition(VIEW_RULES["pinned"]),
        )
        .options(selectinload(Invoice.payments))
    ).first()
    if pin is not None:
        if invoice is None:
            return missing_row(pin, organisation)
        return make_row(invoice, organisation, now, pinned=True)
    if invoice is None or not LISTED.holds(invoice, now.date()):
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


def set_pin(
    session: Session,
    organisations: Sequence[Organisation],
    contacts: Sequence[tuple[int, str]],
    *,
    record: RecordRef,
    organisation_id: int,
    invoice_id: str,
    pinned: bool,
    pinned_by: str | None = None,
) -> InvoiceRow | None:
    """Pin or unpin one of the record's own rows (:func:`record_invoice_row`) and return the
    row as it is now (as it was, when unpinning leaves nothing to show); ``None`` when it is
    not one of the record's rows. The caller commits."""

    def own_row() -> InvoiceRow | None:
        return record_invoice_row(
            session,
            organisations,
            contacts,
            record=record,
            organisation_id=organisation_id,
            invoice_id=invoice_id,
        )

    row = own_row()
    if row is None:
        return None
    if pinned:
        pin_invoice(
            session,
            record=record,
            organisation_id=organisation_id,
            invoice_id=invoice_id,
            pinned_by=pinned_by,
        )
    else:
        unpin_invoice(
            session, record=record, organisation_id=organisation_id, invoice_id=invoice_id
        )
    session.flush()
    updated = own_row()
    return updated if updated is not None else row


def has_cached_data(session: Session, organisations: Sequence[Organisation]) -> bool:
    """Whether anything at all is cached for these organisations."""
    org_ids = [o.id for o in organisations]
    if not org_ids:
        return False
    return (
        session.scalar(select(Invoice.id).where(Invoice.organisation_id.in_(org_ids)).limit(1))
        is not None
    )
