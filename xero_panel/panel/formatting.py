"""Money, dates and relative times for the viewer's locale, with Babel.

Plain Python (no Flask): the view model holds a :class:`Formatter` for the locale the host's
locale selector gives. Machine-readable values (the HTML contract's ``data-amount``,
``data-date``) use :func:`plain_amount` and ISO dates instead. Every word the panel shows for
a view or a row status is defined here, once.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_timedelta
from babel.numbers import get_currency_symbol

from ..clock import utcnow
from .params import ViewName
from .payment_rules import PERIOD_MONTHS, PaymentBehaviour, Trend
from .rows import InvoiceRow
from .view_rules import RowStatus

#: What a locale Babel does not know falls back to.
FALLBACK_LOCALE = "en"
#: The views' names as the view selector shows them.
VIEW_LABELS: dict[ViewName, str] = {
    "unpaid": "Unpaid",
    "open": "Open",
    "overdue": "Overdue",
    "paid": "Paid",
    "pinned": "Pinned",
    "all": "All",
}
#: What an empty view says when no search or date range narrows it.
EMPTY_VIEW_MESSAGES: dict[ViewName, str] = {
    "unpaid": "No unpaid invoices.",
    "open": "No open invoices: nothing is unpaid and not yet due.",
    "overdue": "No overdue invoices.",
    "paid": "No paid invoices.",
    "pinned": "No pinned invoices. Pin an invoice to keep it here for everyone in your team.",
    "all": "No invoices or credit notes.",
}
#: What the panel says when no Xero customer matches the record, per record type.
NO_MATCH_MESSAGES = {
    "contact": "No Xero customer has this contact's email address.",
    "account": "No Xero customer has this account's name.",
    "deal": "No Xero customer matches this deal's account or contacts.",
}
#: The row statuses in words (voided rows and paid instalments: see :func:`status_label`).
STATUS_LABELS: dict[RowStatus, str] = {
    "paid": "Paid",
    "partially-paid": "Partially paid",
    "overdue": "Overdue",
    "open": "Open",
    "voided": "Voided in Xero",
}


def plain_amount(amount: Decimal) -> str:
    """An amount as a plain decimal string with two places (``1234.50``)."""
    return f"{amount.quantize(Decimal('0.01')):f}"


#: The locale whose currency symbols say which dollar (``NZ$``, ``A$``, ``US$``).
UNAMBIGUOUS_SYMBOLS_LOCALE = "en_001"


def organisation_locale(country_code: str | None) -> str | None:
    """English as written in the organisation's country (``NZ`` -> ``en_NZ``), when Babel
    knows it: money and dates in the panel follow it when the host gives no locale."""
    code = (country_code or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        return None
    try:
        return str(Locale.parse(f"en_{code}"))
    except (ValueError, UnknownLocaleError):
        return None


def normalise_locale(locale: str | None) -> str:
    """A locale identifier Babel knows (``en-NZ`` -> ``en_NZ``); unknown ones fall back to
    English rather than failing a page."""
    text = (locale or "").strip().replace("-", "_")
    try:
        return str(Locale.parse(text or FALLBACK_LOCALE))
    except (ValueError, UnknownLocaleError):
        return FALLBACK_LOCALE


@functools.lru_cache(maxsize=64)
def _patterns(locale: str) -> tuple[Locale, Any, Any, Any]:
    """Babel's parsed locale and its money, date and number patterns, built once per locale
    (what ``format_currency``, ``format_date`` and ``format_decimal`` would look up on every
    call)."""
    parsed = Locale.parse(locale)
    return (
        parsed,
        parsed.currency_formats["standard"],
        parsed.date_formats["medium"],
        parsed.decimal_formats[None],
    )


@functools.lru_cache(maxsize=8192)
def _money(locale: str, currency: str, amount: Decimal, disambiguate: bool) -> str:
    """An amount in a currency for a locale: Babel's currency pattern, remembered (a panel
    shows the same amounts again on every view of a record)."""
    parsed, pattern, _, _ = _patterns(locale)
    text = str(pattern.apply(amount, parsed, currency=currency, currency_digits=True))
    if disambiguate:
        symbol = _unambiguous_symbol(locale, currency)
        if symbol is not None:
            text = text.replace("$", symbol, 1)
    return text


@functools.lru_cache(maxsize=512)
def _unambiguous_symbol(locale: str, currency: str) -> str | None:
    """The symbol to put for a bare ``$`` (``None``: the locale's is not bare)."""
    own = get_currency_symbol(currency, locale=locale)
    better = get_currency_symbol(currency, locale=UNAMBIGUOUS_SYMBOLS_LOCALE)
    return (better if better != "$" else currency) if own == "$" else None


@functools.lru_cache(maxsize=4096)
def _date(locale: str, value: dt.date) -> str:
    """A calendar date in the locale's medium form, remembered like :func:`_money`."""
    parsed, _, pattern, _ = _patterns(locale)
    return str(pattern.apply(value, parsed))


class Formatter:
    """Formats values for one locale, with Babel's patterns for it built once per process
    (and the amounts and dates it formatted remembered).

    :param locale: a locale identifier such as ``en_NZ`` or ``de-DE``.
    :param now: the clock for relative times (default: the current time).
    """

    def __init__(
        self, locale: str | None, now: dt.datetime | None = None, *, currencies: int = 1
    ) -> None:
        self.locale = normalise_locale(locale)
        self.now = now or utcnow()
        #: With more than one currency on screen, a bare ``$`` says which dollar.
        self.disambiguate = currencies > 1
        self._locale, _, _, self._decimal = _patterns(self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        """``$1,234.50`` for NZD in ``en_NZ`` (``NZ$1,234.50`` when other currencies are on
        screen), ``1.234,50 NZ$`` in ``de_DE``."""
        if not currency:
            return ""
        return _money(self.locale, currency, amount, self.disambiguate)

    def day_month(self, value: dt.date) -> str:
        """A date without its year, in the locale's order (``4 Nov`` in ``en_NZ``)."""
        return format_skeleton("MMMd", value, locale=self.locale)

    def date(self, value: dt.date | None) -> str:
        """A calendar date in the locale's medium form (``21 Nov 2026`` in ``en_NZ``)."""
        if value is None:
            return ""
        return _date(self.locale, value)

    def ago(self, when: dt.datetime, *, short: bool = False) -> str:
        """How long ago ``when`` was: ``2 hours ago``, or ``2 min. ago`` when ``short``."""
        # Never "in 3 seconds" (two machines' clocks) nor "in 0 seconds".
        delta = min(when - self.now, dt.timedelta(seconds=-1))
        return format_timedelta(
            delta,
            add_direction=True,
            format="short" if short else "long",
            locale=self.locale,
        )

    def stale_notice(self, problem: str, fresh_at: dt.datetime | None) -> str:
        """The notice over a list served from the cache because of ``problem``:
        "Xero is slow to answer; showing invoices from 5 min ago"."""
        cached = "; showing cached data for now."
        if fresh_at is not None and problem.endswith(cached):
            return f"{problem[: -len(cached)]}; showing invoices from {self.ago(fresh_at)}."
        if fresh_at is not None:
            return f"Showing invoices as of {self.ago(fresh_at)}: {problem}"
        return f"Showing the invoices stored so far: {problem}"

    def count(self, value: int) -> str:
        """A whole number in the locale's digits and grouping."""
        return str(self._decimal.apply(value, self._locale))


def status_label(row: InvoiceRow) -> str:
    """The row's status in words: *Paid* (*Paid in 3 payments* after instalments),
    *Partially paid*, *Overdue*, *Open*, or what happened to a pinned document in Xero."""
    if row.status == "voided":
        if row.missing:
            return "No longer in Xero"
        if row.xero_status == "DELETED":
            return "Deleted in Xero"
    if row.kind == "credit_note" and row.status != "voided":
        return "Credit available" if row.balance > 0 else "Credit used"
    if row.kind == "invoice" and row.status == "paid" and len(row.payments) >= 2:
        return f"Paid in {len(row.payments)} payments"
    return STATUS_LABELS[row.status]


def empty_message(view: ViewName, *, filtered: bool, record_type: str, no_match: bool) -> str:
    """What an empty list says: no Xero customer matches the record, nothing matches the
    search or dates, or the view is empty."""
    if no_match:
        return NO_MATCH_MESSAGES.get(record_type, NO_MATCH_MESSAGES["deal"])
    if filtered:
        what = "invoices or credit notes" if view == "all" else "invoices"
        label = "" if view == "all" else VIEW_LABELS[view].lower() + " "
        return f"No {label}{what} match this search or date range."
    return EMPTY_VIEW_MESSAGES[view]


def status_notes(row: InvoiceRow, formatter: Formatter) -> list[str]:
    """What the status adds: how many payments were made (the due text says how late), and
    when the organisation expects payment, if it told Xero ("Expected 12 Dec")."""
    notes: list[str] = []
    paid = len(row.payments)
    if row.kind == "invoice" and row.status in ("partially-paid", "overdue", "open") and paid:
        notes.append(f"{formatter.count(paid)} payment{'s' if paid != 1 else ''} so far")
    if row.expected_payment_on is not None:
        notes.append(f"Expected {formatter.day_month(row.expected_payment_on)}")
    return notes


def days_text(days: int, formatter: Formatter) -> str:
    """``1 day``, ``12 days``."""
    return f"{formatter.count(days)} day{'s' if days != 1 else ''}"


def due_text(row: InvoiceRow, formatter: Formatter) -> str:
    """The row's due information in words: *Due today*, *Due tomorrow*, *Due in 3 days*,
    *12 days overdue*, *Paid 4 Nov* (*Paid* without a date Xero did not give); ``""`` for
    credit notes and documents without one."""
    if row.due is None:
        return ""
    kind, days = row.due
    if kind == "paid":
        return f"Paid {formatter.day_month(row.fully_paid_on)}" if row.fully_paid_on else "Paid"
    if kind == "overdue":
        return f"{days_text(days or 0, formatter)} overdue"
    if days == 0:
        return "Due today"
    if days == 1:
        return "Due tomorrow"
    return f"Due in {days_text(days or 0, formatter)}"


def credit_note_text(row: InvoiceRow, formatter: Formatter) -> str:
    """A credit note's remaining credit in words (``NZ$20.00 credit left``, ``No credit
    left``)."""
    if row.balance > 0:
        return f"{formatter.money(row.balance, row.currency)} credit left"
    return "No credit left"


#: The ageing buckets as the strip names them.
AGE_LABELS = {
    "current": "Not yet due",
    "1-30": "1 to 30 days",
    "31-60": "31 to 60 days",
    "61-90": "61 to 90 days",
    "90+": "Over 90 days",
}
#: The sorts as the sort control names them.
SORT_LABELS = {"date": "Newest", "due": "Due date", "balance": "Balance"}

#: The trend in words, after the figures (nothing for ``none``).
TREND_LABELS: dict[Trend, str] = {
    "faster": "faster than the year before",
    "slower": "slower than the year before",
    "steady": "about as fast as the year before",
    "none": "",
}


@dataclass(frozen=True)
class PaymentText:
    """How the record's customers pay, as the panel's line says it; ``data`` holds the HTML
    contract's ``data-*`` values (``""`` for a figure there is none of)."""

    text: str
    trend_text: str
    data: dict[str, str]


def payment_text(behaviour: PaymentBehaviour, fmt: Formatter) -> PaymentText:
    """The line's words: "Pays in 24 days on average (12 of 18 on time; late ones 9 days
    late)" and "slower than the year before", or "Not enough payment history yet (2 invoices
    paid)"."""
    b = behaviour
    if not b.enough_history or b.avg_days_to_pay is None:
        what = "invoice" if b.paid_count == 1 else "invoices"
        text = f"Not enough payment history yet ({fmt.count(b.paid_count)} {what} paid)"
    else:
        paid = f"{fmt.count(b.on_time_count)} of {fmt.count(b.paid_count)} on time"
        late = ""
        if b.avg_days_late is not None:
            late = f"; late ones {days_text(b.avg_days_late, fmt)} late"
        text = f"Pays in {days_text(b.avg_days_to_pay, fmt)} on average ({paid}{late})"
    figures = {
        "paid-count": b.paid_count,
        "avg-days-to-pay": b.avg_days_to_pay,
        "on-time-count": b.on_time_count,
        "avg-days-late": b.avg_days_late,
        "trend": b.trend,
    }
    data = {name: "" if value is None else str(value) for name, value in figures.items()}
    return PaymentText(text, TREND_LABELS[b.trend], data)


#: What the line's figures cover, before them.
PAYMENT_PERIOD_LABEL = f"Last {PERIOD_MONTHS} months:"
