"""The page query of the panel: one page of a view's rows with their count, pins and
payments, in one statement built once per shape of request and run with bound values.

Plain SQLAlchemy (no Flask), and never a call to Xero. Which documents each view lists is
stated in :mod:`.view_rules`; :func:`.queries.panel_page` puts the page together.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Date, Integer, and_, bindparam, cast, func, literal, null, select
from sqlalchemy.orm import Session

from ..models import Invoice, Payment, Pin
from .params import AgeBucket, SortName, ViewName
from .summaries import bound, contacts_condition, pins_condition
from .view_rules import VIEW_RULES, age_rule, rule_condition, sort_order, view_condition

#: The escape character of the search's LIKE pattern (``%`` and ``_`` match themselves).
_ESCAPE = "/"


@dataclass(frozen=True)
class PageShape:
    """What a page's statement depends on besides bound values: built once per shape."""

    organisations: int
    groups: int
    view: ViewName
    sort: SortName
    age: AgeBucket | None
    q: bool
    date_from: bool
    date_to: bool


def _narrow(shape: PageShape) -> list[Any]:
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


def _listed(shape: PageShape) -> tuple[Any, tuple[Any, ...]]:
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


_INVOICES = Invoice.__table__
_PAYMENTS = Payment.__table__
_PINS = Pin.__table__


@functools.lru_cache(maxsize=256)
def _page_statement(shape: PageShape) -> Any:
    """One page of rows with their count, whether each is pinned, and their payments
    (outer-joined: a row per payment), in one statement of plain columns (read without the
    ORM's bookkeeping: the page is only shown)."""
    listed, order = _listed(shape)
    page = (
        listed.add_columns(func.count().over().label("view_count"))
        .order_by(*order)
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
        .subquery()
    )
    pinned = literal(True) if shape.view == "pinned" else page.c.pinned
    return (
        select(
            page.c.pin_pk,
            _PINS.c.organisation_id.label("pin_organisation_id"),
            _PINS.c.xero_invoice_id.label("pin_invoice_id"),
            *_INVOICES.c,
            pinned.label("pinned"),
            page.c.view_count,
            _PAYMENTS.c.id.label("payment_pk"),
            _PAYMENTS.c.date.label("payment_date"),
            _PAYMENTS.c.amount.label("payment_amount"),
            _PAYMENTS.c.reference.label("payment_reference"),
        )
        .select_from(page)
        .outerjoin(_PINS, _PINS.c.id == page.c.pin_pk)
        .outerjoin(_INVOICES, _INVOICES.c.id == page.c.invoice_pk)
        .outerjoin(_PAYMENTS, _PAYMENTS.c.invoice_pk == _INVOICES.c.id)
        .order_by(*order, _PAYMENTS.c.date, _PAYMENTS.c.id)
    )


def _documents(result: Sequence[Any]) -> list[tuple[Any, Any, bool]]:
    """The page's ``(pin, document, pinned)`` in order from the rows of
    :func:`_page_statement`, each document with its payments; ``pin`` only in the pinned
    view, ``document`` ``None`` for a pin whose document the sync removed."""
    found: dict[tuple[Any, Any], tuple[Any, Any, bool]] = {}
    for row in result:
        entry = found.get((row.pin_pk, row.id))
        if entry is None:
            columns = row._mapping
            document: Any = None
            if row.id is not None:
                document = SimpleNamespace(**{c.name: columns[c] for c in _INVOICES.c}, payments=[])
            pin: Any = None
            if row.pin_pk is not None:
                pin = SimpleNamespace(
                    organisation_id=row.pin_organisation_id, xero_invoice_id=row.pin_invoice_id
                )
            entry = found[(row.pin_pk, row.id)] = (pin, document, bool(row.pinned))
        if row.payment_pk is not None:
            entry[1].payments.append(
                SimpleNamespace(
                    id=row.payment_pk,
                    date=row.payment_date,
                    amount=row.payment_amount,
                    reference=row.payment_reference,
                )
            )
    return list(found.values())


@functools.lru_cache(maxsize=256)
def _count_statement(shape: PageShape) -> Any:
    """How many rows a view has (asked only for a page past the last one)."""
    listed, _ = _listed(shape)
    return select(func.count()).select_from(listed.subquery())


#: One row of a page: the pin (pinned view only), the document (``None``: the sync removed
#: the pinned document) with its ``payments``, and whether the record pinned it.
Found = tuple[Any, Any, bool]


def read_page(
    session: Session,
    shape: PageShape,
    values: dict[str, Any],
    *,
    q: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    page: tuple[int, int],
) -> tuple[list[Found], int]:
    """One page (``page``: its number and size) of the rows of ``shape`` with the view's
    count; ``values`` are the record's bound values (:func:`.summaries.record_values`). A
    page past the last one has no rows, and costs a second statement to count them."""
    number, size = page
    escaped = q.replace(_ESCAPE, 2 * _ESCAPE)
    for wildcard in "%_":
        escaped = escaped.replace(wildcard, _ESCAPE + wildcard)
    values = {**values, "q": escaped, "date_from": date_from, "date_to": date_to}
    values.update(offset=(number - 1) * size, limit=size)
    result = session.execute(_page_statement(shape), values).all()
    count = result[0].view_count if result else 0
    if not result and number > 1:
        count = session.scalar(_count_statement(shape), values) or 0
    return _documents(result), count
