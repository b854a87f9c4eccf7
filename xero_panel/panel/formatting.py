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
from babel.dates import format_skeleton, format_time, format_timedelta
from babel.numbers import get_currency_symbol, get_territory_currencies

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
    knows it. The panel no longer formats with it (the viewer's locale applies); kept for
    hosts whose locale selector wants it."""
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
def _money(locale: str, currency: str, amount: Decimal, many: bool) -> str:
    """An amount in a currency for a locale: Babel's currency pattern, with a symbol that
    names the currency without doubt (:func:`_unambiguous_symbol`), remembered (a panel
    shows the same amounts again on every view of a record)."""
    parsed, pattern, _, _ = _patterns(locale)
    text = str(pattern.apply(amount, parsed, currency=currency, currency_digits=True))
    symbol = _unambiguous_symbol(locale, currency, many)
    if symbol is not None:
        text = text.replace(get_currency_symbol(currency, locale=locale), symbol, 1)
    return text


#: Symbols that several currencies share in some locale: ``$`` (USD, NZD, AUD, CAD, ...),
#: ``¥`` (JPY, CNY), ``kr`` (SEK, NOK, DKK, ISK), ``Fr.`` (CHF and others).
SHARED_SYMBOLS = frozenset({"$", "¥", "kr", "kr.", "Kr", "Kr.", "Fr.", "fr."})


@functools.lru_cache(maxsize=512)
def _unambiguous_symbol(locale: str, currency: str, many: bool) -> str | None:
    """The symbol to write instead of the locale's own (``None``: keep it). A shared symbol
    (``$``) is kept only for the viewer's own currency (USD in ``en_US``, NZD in ``en_NZ``)
    and only when no other currency is on screen (``many``); else the currency's own symbol
    (``NZ$``, ``US$``, ``A$``), or its ISO code where it has none."""
    own = get_currency_symbol(currency, locale=locale)
    if own not in SHARED_SYMBOLS or (not many and currency == _home_currency(locale)):
        return None
    better = get_currency_symbol(currency, locale=UNAMBIGUOUS_SYMBOLS_LOCALE)
    return better if better not in SHARED_SYMBOLS else currency


@functools.lru_cache(maxsize=64)
def _home_currency(locale: str) -> str | None:
    """The currency of the locale's country (``NZD`` for ``en_NZ``; none for ``en``)."""
    territory = Locale.parse(locale).territory
    if not territory:
        return None
    currencies = get_territory_currencies(territory, tender=True)
    return str(currencies[0]) if currencies else None


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
        #: With more than one currency on screen, even the viewer's own ``$`` says which.
        self.disambiguate = currencies > 1
        self._locale, _, _, self._decimal = _patterns(self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        """An amount whose currency no viewer can mistake: ``$1,234.50`` for NZD in ``en_NZ``
        (``NZ$1,234.50`` when other currencies are on screen), ``NZ$1,234.50`` in ``en_US``
        and ``en``, ``1.234,50 NZ$`` in ``de_DE``."""
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
        """How long ago ``when`` was: ``2 hours ago``, or ``2 min. ago`` when ``short``.
        The panel says it in full on every page, so it reads the same everywhere."""
        # Never "in 3 seconds" (two machines' clocks) nor "in 0 seconds".
        delta = min(when - self.now, dt.timedelta(seconds=-1))
        return format_timedelta(
            delta,
            add_direction=True,
            format="short" if short else "long",
            locale=self.locale,
        )

    def moment(self, when: dt.datetime) -> str:
        """An instant as a date and a time of day in UTC, in the locale's order
        (``4 Dec 2026, 5:40 pm UTC`` in ``en_NZ``): the words a panel kept for many
        viewers shows until ``panel.js`` writes how long ago it was."""
        moment = when.astimezone(dt.UTC)
        time = format_time(moment, "short", tzinfo=dt.UTC, locale=self.locale)
        return f"{self.date(moment.date())}, {time} UTC"

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


def empty_message(
    view: ViewName,
    *,
    filtered: bool,
    record_type: str,
    no_match: bool,
    age: str | None = None,
    searched: bool | None = None,
) -> str:
    """What an empty list says: no Xero customer matches the record, nothing matches the
    search or dates, nothing is of the chosen age (``age``: an ageing bucket), or the view
    is empty. ``searched`` says whether a search or date range is set (default:
    ``filtered`` without an ``age``)."""
    if no_match:
        return NO_MATCH_MESSAGES.get(record_type, NO_MATCH_MESSAGES["deal"])
    if searched is None:
        searched = filtered and age is None
    what = "invoices or credit notes" if view == "all" else "invoices"
    label = "" if view == "all" else VIEW_LABELS[view].lower() + " "
    aged = f" {AGE_PHRASES[age]}" if age in AGE_PHRASES else ""
    if searched:
        return f"No {label}{what}{aged} match this search or date range."
    if aged:
        return f"No {label}{what}{aged}."
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
    *12 days overdue*, *Paid 4 Nov* (*Paid 9 Dec 2025* in an earlier year; *Paid* without
    a date Xero did not give); ``""`` for
    credit notes and documents without one."""
    if row.due is None:
        return ""
    kind, days = row.due
    if kind == "paid":
        paid_on = row.fully_paid_on
        if paid_on is None:
            return "Paid"
        # Without its year, a date of an earlier year reads as one still to come.
        same_year = paid_on.year == formatter.now.year
        return f"Paid {formatter.day_month(paid_on) if same_year else formatter.date(paid_on)}"
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
#: An ageing bucket in a sentence ("No unpaid invoices 31 to 60 days overdue.").
AGE_PHRASES = {
    "current": "not yet due",
    "1-30": "1 to 30 days overdue",
    "31-60": "31 to 60 days overdue",
    "61-90": "61 to 90 days overdue",
    "90+": "over 90 days overdue",
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
