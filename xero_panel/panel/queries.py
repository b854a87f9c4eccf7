"""The panel's reads from the local cache: the six views, search, dates, paging, totals and
pins.

Plain SQLAlchemy (no Flask), and never a call to Xero. One panel page costs two queries
whatever the number of invoices: the record's summary (:mod:`.summaries`) and the page's
rows with their count, pins and payments. Which documents each view lists is stated in
:mod:`.view_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from ..models import Invoice, Organisation, Pin
from .params import AgeBucket, SortName, ViewName
from .rows import (
    InvoiceRow,
    PanelPage,
    RecordRef,
    make_row,
    missing_row,
    utcnow,
)
from .summaries import contacts_condition, record_summary
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
    default), narrowed to an ageing bucket by ``age``, with the record's summary (totals,
    ageing strip, fingerprint).

    Two queries whatever the number of invoices: the summary, and the page's rows with
    their count, pins and payments.

    :param contacts: ``(organisation_id, ContactID)`` pairs the record matched.
    :param now: the clock ("today" per organisation); default the current time.

    A ``page`` past the last one gives no rows (the caller decides whether that is an
    error: compare with :attr:`PanelPage.last_page`).
    """
    now = now or utcnow()
    org_by_id = {o.id: o for o in organisations}
    narrow = _narrow(q, date_from, date_to)
    if age is not None:
        narrow.append(rule_condition(age_rule(age), organisations, now))
    summary = record_summary(session, organisations, contacts, record=record, now=now)
    if view == "pinned":
        listed = _pinned_rows(session, org_by_id, record, narrow, sort, page, page_size)
    else:
        where = and_(
            Invoice.organisation_id.in_(list(org_by_id)),
            contacts_condition(contacts),
            view_condition(view, organisations, now),
            *narrow,
        )
        listed = _view_rows(session, record, org_by_id, where, sort, page, page_size)
    found, count = listed
    if not found and page > 1:  # past the last page: the count says how many there are
        count = _count_of(session, view, org_by_id, record, contacts, narrow, now)
    rows = tuple(
        missing_row(pin, org_by_id[pin.organisation_id])
        if invoice is None
        else make_row(invoice, org_by_id[invoice.organisation_id], now, pinned=pinned)
        for pin, invoice, pinned in found
    )
    return PanelPage(
        rows=rows,
        count=count,
        page=page,
        page_size=page_size,
        totals=summary.totals,
        aging=summary.aging,
        version=summary.version,
    )


#: One row of a page: the pin (pinned view), the invoice (``None``: the sync removed it),
#: whether the record pinned it.
_Found = tuple[Any, Invoice | None, bool]


def _with_payments(page: Any, order: Sequence[Any]) -> Any:
    """The invoices of a page (a subquery of ids, in order) with their payments, in one
    statement: the payments are outer-joined and gathered by the ORM."""
    return (
        select(Invoice, page.c.total, page.c.pinned)
        .join(page, Invoice.id == page.c.invoice_pk)
        .outerjoin(Invoice.payments)
        .options(contains_eager(Invoice.payments))
        .order_by(*order)
    )


def _view_rows(
    session: Session,
    record: RecordRef,
    org_by_id: dict[int, Organisation],
    where: Any,
    sort: SortName,
    page: int,
    page_size: int,
) -> tuple[list[_Found], int]:
    pinned = (
        select(Pin.id)
        .where(
            *Pin.of_record(record.crm_account, record.record_type, record.record_id, org_by_id),
            Pin.organisation_id == Invoice.organisation_id,
            Pin.xero_invoice_id == Invoice.xero_id,
        )
        .exists()
    )
    order = sort_order(sort)
    page_ids = (
        select(
            Invoice.id.label("invoice_pk"),
            func.count().over().label("total"),
            pinned.label("pinned"),
        )
        .where(where)
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
        .subquery()
    )
    result = session.execute(_with_payments(page_ids, order)).unique().all()
    count = result[0].total if result else 0
    return [(None, invoice, bool(is_pinned)) for invoice, _, is_pinned in result], count


def _pinned_rows(
    session: Session,
    org_by_id: dict[int, Organisation],
    record: RecordRef,
    narrow: list[Any],
    sort: SortName,
    page: int,
    page_size: int,
) -> tuple[list[_Found], int]:
    order = (Invoice.date.is_(None), *sort_order(sort), Pin.id.desc())
    page_ids = (
        _pins_joined(record, org_by_id, narrow)
        .with_only_columns(
            Pin.id.label("pin_pk"),
            Invoice.id.label("invoice_pk"),
            func.count().over().label("total"),
        )
        .order_by(*order)
        .offset((page - 1) * page_size)
        .limit(page_size)
        .subquery()
    )
    result = (
        session.execute(
            select(Pin, Invoice, page_ids.c.total)
            .join(page_ids, Pin.id == page_ids.c.pin_pk)
            .outerjoin(Invoice, Invoice.id == page_ids.c.invoice_pk)
            .outerjoin(Invoice.payments)
            .options(contains_eager(Invoice.payments))
            .order_by(*order)
        )
        .unique()
        .all()
    )
    count = result[0].total if result else 0
    return [(pin, invoice, True) for pin, invoice, _ in result], count


def _pins_joined(record: RecordRef, org_ids: Any, narrow: list[Any]) -> Any:
    """The record's pins with their invoices, outer-joined: a pinned invoice stays listed
    even when the sync removed it."""
    return (
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
            *Pin.of_record(record.crm_account, record.record_type, record.record_id, org_ids),
            *narrow,
        )
    )


def _count_of(
    session: Session,
    view: ViewName,
    org_by_id: dict[int, Organisation],
    record: RecordRef,
    contacts: Sequence[tuple[int, str]],
    narrow: list[Any],
    now: dt.datetime,
) -> int:
    """How many rows a view has (asked only for a page past the last one)."""
    if view == "pinned":
        joined = _pins_joined(record, org_by_id, narrow).subquery()
        return session.scalar(select(func.count()).select_from(joined)) or 0
    where = and_(
        Invoice.organisation_id.in_(list(org_by_id)),
        contacts_condition(contacts),
        view_condition(view, list(org_by_id.values()), now),
        *narrow,
    )
    return session.scalar(select(func.count(Invoice.id)).where(where)) or 0


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
