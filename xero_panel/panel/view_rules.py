"""The panel's rules, each stated once: which documents each view lists and which status
each row has.

Plain SQLAlchemy (no Flask). A rule is a tuple of :class:`Condition` values; each one says the
same thing twice, side by side, in SQL (for the queries) and in Python (for a row in hand),
so the view's SQL condition and the row's status can never disagree.

Only sales invoices (``ACCREC``) with status ``AUTHORISED`` or ``PAID`` are listed, plus
customer credit notes (``ACCRECCREDIT``, ``AUTHORISED`` or ``PAID``) in the *All* view only.
"Today" is the date in each organisation's timezone.

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

A row's status is the first of :data:`ROW_STATUSES` whose conditions all hold.
"""

from __future__ import annotations

import datetime as dt
import operator
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Date, and_, bindparam, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from ..models import Invoice, Organisation
from .params import AgeBucket, SortName, ViewName

#: A row's state, as the HTML contract's ``data-status`` spells it.
RowStatus = Literal["paid", "partially-paid", "open", "overdue", "voided"]
#: The Xero statuses the panel lists (drafts, submitted, voided, deleted are not receivables).
LISTED_STATUSES = ("AUTHORISED", "PAID")
INVOICE_TYPE = "ACCREC"
CREDIT_NOTE_TYPE = "ACCRECCREDIT"
#: The document types the panel ever shows (bills and supplier credit notes never).
DOCUMENT_TYPES = (INVOICE_TYPE, CREDIT_NOTE_TYPE)


@dataclass(frozen=True)
class Condition:
    """One condition on a cached invoice or credit note, in SQL and in Python.

    :ivar dated: the condition depends on "today", which differs per organisation.
    """

    name: str
    sql: Callable[[dt.date], ColumnElement[bool]]
    holds: Callable[[Invoice, dt.date], bool]
    dated: bool = False


def compare(column: str, op: Callable[[Any, Any], Any], value: object) -> Condition:
    """A condition on one column, stated once: ``op`` (``operator.gt``, ...) works on the
    SQL column and on the loaded document alike."""
    return Condition(
        f"{column} {op.__name__} {value}",
        lambda today: op(getattr(Invoice, column), value),
        lambda invoice, today: bool(op(getattr(invoice, column), value)),
    )


def among(column: str, values: Sequence[str], *, negate: bool = False) -> Condition:
    """A condition that a column's value is (or, with ``negate``, is not) one of ``values``."""

    def sql(today: dt.date) -> ColumnElement[bool]:
        sql_column: InstrumentedAttribute[str] = getattr(Invoice, column)
        return sql_column.not_in(list(values)) if negate else sql_column.in_(list(values))

    def holds(invoice: Invoice, today: dt.date) -> bool:
        return (getattr(invoice, column) in values) != negate

    name = f"{column} {'not in' if negate else 'in'} {', '.join(values)}"
    return Condition(name, sql, holds)


SALES_INVOICE = among("xero_type", [INVOICE_TYPE])
DOCUMENT = among("xero_type", DOCUMENT_TYPES)
CREDIT_NOTE = compare("xero_type", operator.eq, CREDIT_NOTE_TYPE)
#: Listed documents are AUTHORISED or PAID (not draft, submitted, voided or deleted).
LISTED = among("status", LISTED_STATUSES)
NOT_LISTED = among("status", LISTED_STATUSES, negate=True)
UNPAID = compare("balance", operator.gt, 0)
NO_BALANCE = compare("balance", operator.le, 0)
PART_PAID = compare("amount_paid", operator.gt, 0)
PAID_IN_FULL = (compare("balance", operator.eq, 0), compare("status", operator.eq, "PAID"))
PAST_DUE = Condition(
    "due date < today",
    lambda today: and_(Invoice.due_date.is_not(None), Invoice.due_date < today),
    lambda invoice, today: invoice.due_date is not None and invoice.due_date < today,
    dated=True,
)
NOT_PAST_DUE = Condition(
    "no due date, or due date >= today",
    lambda today: or_(Invoice.due_date.is_(None), Invoice.due_date >= today),
    lambda invoice, today: invoice.due_date is None or invoice.due_date >= today,
    dated=True,
)

#: What each view lists (``pinned`` lists the record's pins instead: see the queries).
VIEW_RULES: dict[ViewName, tuple[Condition, ...]] = {
    "unpaid": (SALES_INVOICE, LISTED, UNPAID),
    "open": (SALES_INVOICE, LISTED, UNPAID, NOT_PAST_DUE),
    "overdue": (SALES_INVOICE, LISTED, UNPAID, PAST_DUE),
    "paid": (SALES_INVOICE, LISTED, *PAID_IN_FULL),
    "pinned": (DOCUMENT,),
    "all": (DOCUMENT, LISTED),
}
#: The invoices the record's totals add up (credit notes excluded, view not applied).
TOTALS_RULE: tuple[Condition, ...] = (SALES_INVOICE, LISTED)

#: A row's status: the first whose conditions all hold. A listed credit note is ``open``
#: (never ``paid``: its label says how much credit is left). Voided and deleted documents are only
#: ever shown because they are pinned. An unpaid invoice past its due date is ``overdue``
#: even when part-paid (the tooltip and the status text say how much was paid).
ROW_STATUSES: tuple[tuple[RowStatus, tuple[Condition, ...]], ...] = (
    ("voided", (NOT_LISTED,)),
    ("open", (CREDIT_NOTE,)),
    ("paid", (NO_BALANCE,)),
    ("overdue", VIEW_RULES["overdue"]),
    ("partially-paid", (PART_PAID,)),
    ("open", ()),
)


def today_in(organisation: Organisation, now: dt.datetime) -> dt.date:
    """The date it is in the organisation's timezone at ``now`` (UTC when its zone is
    unknown)."""
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(organisation.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return now.astimezone(zone).date()


class TodayParam:
    """An organisation's "today" in a statement built once and run on any day: ``today``
    and ``today - timedelta(days=n)`` are each a bound parameter (``today_<i>_<n>``), whose
    values :func:`bound_values` gives."""

    def __init__(self, index: int) -> None:
        self.index = index

    def name(self, days: int) -> str:
        return f"today_{self.index}_{days}"

    def __sub__(self, delta: dt.timedelta) -> BindParameter[dt.date]:
        return bindparam(self.name(delta.days), type_=Date)

    def __clause_element__(self) -> BindParameter[dt.date]:
        return bindparam(self.name(0), type_=Date)


@dataclass(frozen=True)
class BoundOrganisation:
    """The organisation at ``index`` in a statement built once for a number of
    organisations: its id and its "today" are bound parameters."""

    index: int

    @property
    def id(self) -> BindParameter[int]:
        return bindparam(f"org_{self.index}")

    @property
    def today(self) -> TodayParam:
        return TodayParam(self.index)


def _today(organisation: Organisation | BoundOrganisation, now: dt.datetime | None) -> Any:
    if isinstance(organisation, BoundOrganisation):
        return organisation.today
    if now is None:
        raise ValueError("a rule with dated conditions needs the time (now)")
    return today_in(organisation, now)


def rule_condition(
    rule: Sequence[Condition],
    organisations: Sequence[Organisation | BoundOrganisation] = (),
    now: dt.datetime | None = None,
) -> ColumnElement[bool]:
    """A rule as one SQL condition; dated conditions use each organisation's own "today" at
    ``now`` (or, for :class:`BoundOrganisation`, bound parameters)."""
    parts = [
        condition.sql(dt.date.min) for condition in rule if not condition.dated
    ]  # "today" unused
    dated = [condition for condition in rule if condition.dated]
    if dated:
        per_org = [
            and_(
                Invoice.organisation_id == organisation.id,
                *(condition.sql(_today(organisation, now)) for condition in dated),
            )
            for organisation in organisations
        ]
        parts.append(or_(*per_org) if per_org else false())
    return and_(true(), *parts)


def view_condition(
    view: ViewName,
    organisations: Sequence[Organisation | BoundOrganisation],
    now: dt.datetime | None,
) -> ColumnElement[bool]:
    """The SQL condition of a view's documents."""
    return rule_condition(VIEW_RULES[view], organisations, now)


def rule_holds(rule: Sequence[Condition], invoice: Invoice, today: dt.date) -> bool:
    """Whether every condition of a rule holds for a document, on its organisation's ``today``."""
    return all(condition.holds(invoice, today) for condition in rule)


def row_status(invoice: Invoice, today: dt.date) -> tuple[RowStatus, int | None]:
    """A row's status (:data:`ROW_STATUSES`) and, for an ``overdue`` one, the days overdue."""
    for status, rule in ROW_STATUSES:
        if rule_holds(rule, invoice, today):
            if status == "overdue" and invoice.due_date is not None:
                return status, (today - invoice.due_date).days
            return status, None
    raise AssertionError("the last row status has no conditions, so it always holds")


# -- due dates, ageing and sorting ---------------------------------------------------------

#: The ageing buckets of unpaid balances, like Xero's aged receivables: days past the due
#: date, inclusive (``current`` is not yet due, due today included).
AGE_BUCKETS: dict[AgeBucket, tuple[int | None, int | None]] = {
    "current": (None, 0),
    "1-30": (1, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "90+": (91, None),
}


def age_bucket(due_date: dt.date | None, today: dt.date) -> AgeBucket:
    """The bucket of an unpaid balance due on ``due_date`` (no due date: ``current``)."""
    days = 0 if due_date is None else (today - due_date).days
    for bucket, (low, high) in AGE_BUCKETS.items():
        if (low is None or days >= low) and (high is None or days <= high):
            return bucket
    raise AssertionError("the buckets cover every number of days")


def age_condition(bucket: AgeBucket) -> Condition:
    """The unpaid sales invoices whose balance is in ``bucket`` (the ``age=`` filter)."""
    low, high = AGE_BUCKETS[bucket]

    def sql(today: dt.date) -> ColumnElement[bool]:
        parts: list[ColumnElement[bool]] = []
        if low is not None:  # at least ``low`` days past due: due on or before today - low
            parts.append(Invoice.due_date <= today - dt.timedelta(days=low))
        if high is not None:
            parts.append(
                or_(Invoice.due_date.is_(None), Invoice.due_date >= today - dt.timedelta(days=high))
            )
        return and_(true(), *parts)

    def holds(invoice: Invoice, today: dt.date) -> bool:
        return age_bucket(invoice.due_date, today) == bucket

    return Condition(f"age {bucket}", sql, holds, dated=True)


#: The days before "today" a dated rule compares with: today itself and the buckets' edges.
DAY_OFFSETS = tuple(sorted({0, *(d for edges in AGE_BUCKETS.values() for d in edges if d)}))


def bound_values(organisations: Sequence[Organisation], now: dt.datetime) -> dict[str, Any]:
    """The values of :class:`BoundOrganisation` parameters for these organisations, in
    order, at ``now``."""
    values: dict[str, Any] = {}
    for index, organisation in enumerate(organisations):
        values[f"org_{index}"] = organisation.id
        today = today_in(organisation, now)
        for days in DAY_OFFSETS:
            values[TodayParam(index).name(days)] = today - dt.timedelta(days=days)
    return values


#: What the ageing strip adds up: the balances of unpaid sales invoices.
AGING_RULE: tuple[Condition, ...] = (SALES_INVOICE, LISTED, UNPAID)


def age_rule(bucket: AgeBucket) -> tuple[Condition, ...]:
    """The rule of ``age=<bucket>``: unpaid sales invoices in that bucket."""
    return (*AGING_RULE, age_condition(bucket))


def sort_order(sort: SortName) -> tuple[Any, ...]:
    """The ``ORDER BY`` of a sort: ``date`` (the default) newest first, ``due`` earliest due
    first (no due date last, whatever the database), ``balance`` largest first; ties by
    invoice date then number, newest first."""
    newest = (Invoice.date.desc(), Invoice.number.desc(), Invoice.id.desc())
    if sort == "due":
        return (Invoice.due_date.is_(None), Invoice.due_date.asc(), *newest)
    if sort == "balance":
        return (Invoice.balance.desc(), *newest)
    return newest


#: What a row's due information says: ``paid`` (on ``fully_paid_on``), ``due`` in N days
#: (0: due today), ``overdue`` by N days, or nothing (credit notes, voided, no due date).
DueKind = Literal["paid", "due", "overdue"]


def due_info(invoice: Invoice, today: dt.date) -> tuple[DueKind, int | None] | None:
    """A sales invoice's due information on its organisation's ``today``."""
    if not rule_holds((SALES_INVOICE, LISTED), invoice, today):
        return None
    if NO_BALANCE.holds(invoice, today):
        return "paid", None
    if invoice.due_date is None:
        return None
    days = (invoice.due_date - today).days
    return ("due", days) if days >= 0 else ("overdue", -days)
