"""The panel's reads from the local cache: the six views, search, dates, paging, totals and
pins.

Plain SQLAlchemy (no Flask), and never a call to Xero. One panel page costs two queries
whatever the number of invoices: the record's summary (:mod:`.summaries`) and the page's
rows with their count, pins and payments. Which documents each view lists is stated in
:mod:`.view_rules`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Integer, and_, bindparam, cast, func, literal, null, select
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
from .summaries import (
    bound,
    contact_groups,
    contacts_condition,
    pins_condition,
    record_summary,
    record_values,
)
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


#: The escape character of the search's LIKE pattern (``%`` and ``_`` match themselves).
_ESCAPE = "/"


@dataclass(frozen=True)
class _Shape:
    """What a page's statement depends on besides bound values: built once per shape."""

    organisations: int
    groups: int
    view: ViewName
    sort: SortName
    age: AgeBucket | None
    q: bool
    date_from: bool
    date_to: bool


def _narrow(shape: _Shape) -> list[Any]:
    """The search, the dates and the ageing bucket, as bound conditions."""
    conditions: list[Any] = []
    if shape.q:
        conditions.append(Invoice.number.icontains(bindparam("q"), escape=_ESCAPE))
    if shape.date_from:
        conditions.append(Invoice.date >= bindparam("date_from", type_=Date))
    if shape.date_to:
        conditions.append(Invoice.date <= bindparam("date_to", type_=Date))
    if shape.age is not None:
        conditions.append(rule_condition(age_rule(shape.age), bound(shape.organisations)))
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
    their count, pins and payments. Both statements are built once per shape of request
    (view, sort, which filters, how many organisations) and run with bound values.

    :param contacts: ``(organisation_id, ContactID)`` pairs the record matched.
    :param now: the clock ("today" per organisation); default the current time.

    A ``page`` past the last one gives no rows (the caller decides whether that is an
    error: compare with :attr:`PanelPage.last_page`).
    """
    now = now or utcnow()
    org_by_id = {o.id: o for o in organisations}
    shape = _Shape(
        len(organisations),
        len(contact_groups(contacts)),
        view,
        sort,
        age,
        bool(q),
        date_from is not None,
        date_to is not None,
    )
    values = record_values(organisations, contacts, record, now)
    escaped = q.replace(_ESCAPE, 2 * _ESCAPE)
    for wildcard in "%_":
        escaped = escaped.replace(wildcard, _ESCAPE + wildcard)
    values.update(q=escaped, date_from=date_from, date_to=date_to)
    values.update(offset=(page - 1) * page_size, limit=page_size)
    summary = record_summary(session, organisations, contacts, record=record, now=now)
    result = session.execute(_page_statement(shape), values).unique().all()
    count = result[0].total if result else 0
    if not result and page > 1:  # past the last page: the count says how many there are
        count = session.scalar(_count_statement(shape), values) or 0
    rows = tuple(
        missing_row(pin, org_by_id[pin.organisation_id])
        if invoice is None
        else make_row(invoice, org_by_id[invoice.organisation_id], now, pinned=bool(pinned))
        for pin, invoice, pinned, _ in result
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


def _listed(shape: _Shape) -> tuple[Any, tuple[Any, ...]]:
    """The view's rows (before paging) and their order: the record's invoices in the view,
    each with whether the record pinned it, or (``pinned``) the record's pins
    outer-joined with their invoices, which stay listed even when the sync removed them."""
    narrow = _narrow(shape)
    listed: Any
    if shape.view == "pinned":
        listed = (
            select(Pin.id.label("pin_pk"), Invoice.id.label("invoice_pk"))
            .select_from(Pin)
            .outerjoin(
                Invoice,
                and_(
                    Invoice.organisation_id == Pin.organisation_id,
                    Invoice.xero_id == Pin.xero_invoice_id,
                    rule_condition(VIEW_RULES["pinned"]),
                ),
            )
            .where(*pins_condition(shape.organisations), *narrow)
        )
        return listed, (Invoice.date.is_(None), *sort_order(shape.sort), Pin.id.desc())
    pinned = (
        select(Pin.id)
        .where(
            *pins_condition(shape.organisations),
            Pin.organisation_id == Invoice.organisation_id,
            Pin.xero_invoice_id == Invoice.xero_id,
        )
        .exists()
    )
    listed = select(
        cast(null(), Integer).label("pin_pk"),
        Invoice.id.label("invoice_pk"),
        pinned.label("pinned"),
    ).where(
        Invoice.organisation_id.in_([o.id for o in bound(shape.organisations)]),
        contacts_condition(shape.groups),
        view_condition(shape.view, bound(shape.organisations), None),
        *narrow,
    )
    return listed, sort_order(shape.sort)


@functools.lru_cache(maxsize=256)
def _page_statement(shape: _Shape) -> Any:
    """One page of rows with their count, whether each is pinned, and their payments
    (outer-joined, gathered by the ORM), in one statement."""
    listed, order = _listed(shape)
    page = (
        listed.add_columns(func.count().over().label("total"))
        .order_by(*order)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
        .subquery()
    )
    pinned = literal(True) if shape.view == "pinned" else page.c.pinned
    return (
        select(Pin, Invoice, pinned.label("pinned"), page.c.total)
        .select_from(page)
        .outerjoin(Pin, Pin.id == page.c.pin_pk)
        .outerjoin(Invoice, Invoice.id == page.c.invoice_pk)
        .outerjoin(Invoice.payments)
        .options(contains_eager(Invoice.payments))
        .order_by(*order)
    )


@functools.lru_cache(maxsize=256)
def _count_statement(shape: _Shape) -> Any:
    """How many rows a view has (asked only for a page past the last one)."""
    listed, _ = _listed(shape)
    return select(func.count()).select_from(listed.subquery())


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
