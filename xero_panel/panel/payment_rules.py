"""How a customer pays: the rules of the panel's payment-behaviour line, each stated once,
in SQL (folded into the record's summary query, :mod:`.summaries`) and in Python (for an
invoice in hand), like :mod:`.view_rules`.

Plain SQLAlchemy (no Flask), and never a call to Xero: the cache already holds every date.

- **Which invoices**: sales invoices (``ACCREC``) paid in full (balance 0, Xero status
  ``PAID``; not credit notes, drafts, voided or deleted ones, nor part-paid ones) whose
  fully paid date Xero gave (``FullyPaidOnDate``: the day the balance reached 0, by payment
  or credit note) lies in a period.
- **Periods**, on each organisation's "today": the *last 12 months* are the days after the
  same date 12 months before, up to and including today; the *year before* are the 12
  months before those. (Invoice, due and fully paid dates are Xero's calendar dates, kept
  as they are.)
- **Days to pay**: fully paid date minus invoice date, never below 0. **On time**: fully
  paid on or before the due date (an invoice without a due date is on time). **Days late**,
  for the late ones only: fully paid date minus due date.
- **Figures** (last 12 months): how many invoices; the average days to pay and the average
  days late of the late ones, each rounded to the nearest whole day (halves up); how many
  were on time.
- **Trend**: the average days to pay of the last 12 months against the year before, each
  rounded as above: ``slower`` when 3 days or more longer, ``faster`` when 3 days or more
  shorter, else ``steady``; ``none`` when either period has fewer than 3 invoices.
- Fewer than 3 invoices in the last 12 months: not enough history for the line's figures.
- **Expected payment**: an unpaid sales invoice's row shows Xero's ``ExpectedPaymentDate``
  when the organisation has set one; nothing is predicted.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import Date, Integer, and_, bindparam, case, false, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from ..models import Invoice, Organisation
from .view_rules import (
    LISTED,
    PAID_IN_FULL,
    SALES_INVOICE,
    UNPAID,
    BoundOrganisation,
    Condition,
    rule_holds,
    today_in,
)

#: The line's ``data-trend``.
Trend = Literal["faster", "slower", "steady", "none"]
#: The length of a period, in months.
PERIOD_MONTHS = 12
#: Fewer invoices than this in a period: no figures (last 12 months) or no trend.
MIN_INVOICES = 3
#: The difference of the two periods' average days to pay that makes a trend.
TREND_DAYS = 3
#: The periods, newest first: the last 12 months (0) and the year before (1).
PERIODS = (0, 1)

HAS_FULLY_PAID_ON = Condition(
    "fully_paid_on is set",
    lambda today: Invoice.fully_paid_on.is_not(None),
    lambda invoice, today: invoice.fully_paid_on is not None,
)
#: The invoices the figures count (in a period).
PAID_INVOICE: tuple[Condition, ...] = (SALES_INVOICE, *PAID_IN_FULL, HAS_FULLY_PAID_ON)


#: The rows that show Xero's expected payment date (when it has one): unpaid sales invoices.
EXPECTED_PAYMENT_RULE: tuple[Condition, ...] = (SALES_INVOICE, LISTED, UNPAID)


def expected_payment(invoice: Invoice, today: dt.date) -> dt.date | None:
    """The date the row says the organisation expects payment on, if any."""
    if not rule_holds(EXPECTED_PAYMENT_RULE, invoice, today):
        return None
    return invoice.expected_payment_on


class DaysBetween(FunctionElement[int]):
    """``later - earlier`` in whole days, for two ``DATE`` columns, on any database."""

    type = Integer()
    name = "days_between"
    inherit_cache = True


@compiles(DaysBetween)
def _days_between(element: DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({later} - {earlier})"  # PostgreSQL: date - date is an integer


@compiles(DaysBetween, "sqlite")
def _days_between_sqlite(element: DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def months_before(day: dt.date, months: int) -> dt.date:
    """The same date ``months`` earlier (the month's last day when it is shorter:
    29 February 2028 less 12 months is 28 February 2027)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_start(today: dt.date, period: int) -> dt.date:
    """The day before period ``period``'s first day (``period`` 0 ends today)."""
    return months_before(today, PERIOD_MONTHS * (period + 1))


def period_of(invoice: Invoice, today: dt.date) -> int | None:
    """The period an invoice of :data:`PAID_INVOICE` counts in, if any, on its
    organisation's ``today``."""
    paid_on = invoice.fully_paid_on
    if paid_on is None or not all(c.holds(invoice, today) for c in PAID_INVOICE):
        return None
    for period in PERIODS:
        if period_start(today, period) < paid_on <= months_before(today, PERIOD_MONTHS * period):
            return period
    return None


def _bound_edge(index: int, period: int) -> BindParameter[dt.date]:
    """Organisation ``index``'s date ``12 * period`` months before its today (bound)."""
    return bindparam(f"paid_edge_{index}_{period}", type_=Date)


def period_values(organisations: Sequence[Organisation], now: dt.datetime) -> dict[str, Any]:
    """The values of the periods' bound parameters for these organisations, in order."""
    values: dict[str, Any] = {}
    for index, organisation in enumerate(organisations):
        today = today_in(organisation, now)
        for edge in range(len(PERIODS) + 1):
            values[_bound_edge(index, edge).key] = months_before(today, PERIOD_MONTHS * edge)
    return values


def period_sql(period: int, organisations: int) -> ColumnElement[bool]:
    """The invoices of :data:`PAID_INVOICE` that count in ``period``, for a statement built
    once for ``organisations`` organisations (bound, like :class:`BoundOrganisation`)."""
    rule = [c.sql(dt.date.min) for c in PAID_INVOICE]  # none of them is dated
    per_org = [
        and_(
            Invoice.organisation_id == BoundOrganisation(i).id,
            Invoice.fully_paid_on > _bound_edge(i, period + 1),
            Invoice.fully_paid_on <= _bound_edge(i, period),
        )
        for i in range(organisations)
    ]
    return and_(*rule, or_(*per_org) if per_org else false())


def days_to_pay(invoice: Invoice) -> int:
    """Fully paid date minus invoice date, never below 0."""
    assert invoice.fully_paid_on is not None
    return max((invoice.fully_paid_on - invoice.date).days, 0)


def on_time(invoice: Invoice) -> bool:
    """Fully paid on or before the due date (or no due date)."""
    assert invoice.fully_paid_on is not None
    return invoice.due_date is None or invoice.fully_paid_on <= invoice.due_date


def days_late(invoice: Invoice) -> int:
    """Fully paid date minus due date (0 when on time)."""
    if on_time(invoice):
        return 0
    assert invoice.fully_paid_on is not None and invoice.due_date is not None
    return (invoice.fully_paid_on - invoice.due_date).days


_DAYS_TO_PAY_SQL = DaysBetween(Invoice.fully_paid_on, Invoice.date)
_ON_TIME_SQL = or_(Invoice.due_date.is_(None), Invoice.fully_paid_on <= Invoice.due_date)
_DAYS_LATE_SQL = DaysBetween(Invoice.fully_paid_on, Invoice.due_date)

#: The sums the figures are made of (each over the documents of a record), by name.
SUMS = ("paid_0", "days_to_pay_0", "on_time_0", "days_late_0", "paid_1", "days_to_pay_1")


def sum_columns(organisations: int) -> dict[str, ColumnElement[int]]:
    """Each of :data:`SUMS` as one document's share (0 when it does not count), to be summed
    over the record's documents in SQL."""
    columns: dict[str, ColumnElement[int]] = {}
    for period in PERIODS:
        counts = period_sql(period, organisations)
        days = case((_DAYS_TO_PAY_SQL < 0, 0), else_=_DAYS_TO_PAY_SQL)
        columns[f"paid_{period}"] = case((counts, 1), else_=0)
        columns[f"days_to_pay_{period}"] = case((counts, days), else_=0)
        if period == 0:
            columns["on_time_0"] = case((and_(counts, _ON_TIME_SQL), 1), else_=0)
            columns["days_late_0"] = case((and_(counts, ~_ON_TIME_SQL), _DAYS_LATE_SQL), else_=0)
    return columns


def sums_of(invoice: Invoice, today: dt.date) -> dict[str, int]:
    """One document's share of each of :data:`SUMS`, worked out in Python (the same as
    :func:`sum_columns` gives in SQL)."""
    sums = dict.fromkeys(SUMS, 0)
    period = period_of(invoice, today)
    if period is None:
        return sums
    sums[f"paid_{period}"] = 1
    sums[f"days_to_pay_{period}"] = days_to_pay(invoice)
    if period == 0:
        sums["on_time_0"] = int(on_time(invoice))
        sums["days_late_0"] = days_late(invoice)
    return sums


def average(total: int, count: int) -> int | None:
    """``total / count`` rounded to the nearest whole day, halves up (``None`` for 0)."""
    if not count:
        return None
    return int((Decimal(total) / count).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PaymentBehaviour:
    """How the record's customers paid: the figures of the last 12 months and the trend.

    :ivar avg_days_to_pay: ``None`` when no invoice counts.
    :ivar avg_days_late: of the late ones; ``None`` when none was late.
    :ivar earlier_count: invoices of the year before (for the trend).
    """

    paid_count: int
    on_time_count: int
    avg_days_to_pay: int | None
    avg_days_late: int | None
    trend: Trend
    earlier_count: int = 0
    earlier_avg_days_to_pay: int | None = None

    @property
    def late_count(self) -> int:
        return self.paid_count - self.on_time_count

    @property
    def enough_history(self) -> bool:
        """At least :data:`MIN_INVOICES` invoices in the last 12 months."""
        return self.paid_count >= MIN_INVOICES


def payment_behaviour(sums: Mapping[str, int]) -> PaymentBehaviour:
    """The figures and trend from the :data:`SUMS` over a record's documents."""
    paid, earlier = sums["paid_0"], sums["paid_1"]
    recent_avg = average(sums["days_to_pay_0"], paid)
    earlier_avg = average(sums["days_to_pay_1"], earlier)
    trend: Trend = "none"
    if recent_avg is not None and earlier_avg is not None and min(paid, earlier) >= MIN_INVOICES:
        difference = recent_avg - earlier_avg
        trend = "slower" if difference >= TREND_DAYS else "steady"
        trend = "faster" if difference <= -TREND_DAYS else trend
    return PaymentBehaviour(
        paid_count=paid,
        on_time_count=sums["on_time_0"],
        avg_days_to_pay=recent_avg,
        avg_days_late=average(sums["days_late_0"], paid - sums["on_time_0"]),
        trend=trend,
        earlier_count=earlier,
        earlier_avg_days_to_pay=earlier_avg,
    )


def add_sums(rows: Iterable[Mapping[Any, Any]]) -> dict[str, int]:
    """:data:`SUMS` added up over rows (of a grouped query, or of :func:`sums_of`)."""
    total = dict.fromkeys(SUMS, 0)
    for row in rows:
        for name in SUMS:
            total[name] += int(row[name] or 0)
    return total
