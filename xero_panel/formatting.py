"""Money, dates and relative times for the viewer's locale, with Babel.

Plain Python (no Flask): the view builds a :class:`Formatter` for the locale the host's
locale selector gives and hands it to the templates. Machine-readable values (the HTML
contract's ``data-amount``, ``data-date``) use :func:`plain_amount` and ISO dates instead.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_timedelta
from babel.numbers import format_currency, format_decimal

from .queries import InvoiceRow

#: What a locale Babel does not know falls back to.
FALLBACK_LOCALE = "en"


def plain_amount(amount: Decimal) -> str:
    """An amount as a plain decimal string with two places (``1234.50``)."""
    return f"{amount.quantize(Decimal('0.01')):f}"


def normalise_locale(locale: str | None) -> str:
    """A locale identifier Babel knows (``en-NZ`` -> ``en_NZ``); unknown ones fall back to
    English rather than failing a page."""
    text = (locale or "").strip().replace("-", "_")
    try:
        return str(Locale.parse(text or FALLBACK_LOCALE))
    except (ValueError, UnknownLocaleError):
        return FALLBACK_LOCALE


class Formatter:
    """Formats values for one locale.

    :param locale: a locale identifier such as ``en_NZ`` or ``de-DE``.
    :param now: the clock for relative times (default: the current time).
    """

    def __init__(self, locale: str | None, now: dt.datetime | None = None) -> None:
        self.locale = normalise_locale(locale)
        self.now = now or dt.datetime.now(dt.UTC)

    def money(self, amount: Decimal, currency: str) -> str:
        """``NZ$1,234.50`` in ``en``, ``1.234,50 NZ$`` in ``de_DE``."""
        if not currency:
            return ""
        return format_currency(amount, currency, locale=self.locale)

    def date(self, value: dt.date | None) -> str:
        """A calendar date in the locale's medium form (``21 Nov 2026`` in ``en_NZ``)."""
        if value is None:
            return ""
        return format_date(value, format="medium", locale=self.locale)

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

    def count(self, value: int) -> str:
        """A whole number in the locale's digits and grouping."""
        return format_decimal(value, locale=self.locale)


def status_label(row: InvoiceRow) -> str:
    """The row's status in words: *Paid* (*Paid in 3 payments* after instalments),
    *Partially paid*, *Overdue*, *Open*, or what happened to a pinned document in Xero."""
    if row.status == "voided":
        if row.missing:
            return "No longer in Xero"
        return "Deleted in Xero" if row.xero_status == "DELETED" else "Voided in Xero"
    if row.kind == "invoice" and row.status == "paid" and len(row.payments) >= 2:
        return f"Paid in {len(row.payments)} payments"
    return {
        "paid": "Paid",
        "partially-paid": "Partially paid",
        "overdue": "Overdue",
        "open": "Open",
    }[row.status]


def status_notes(row: InvoiceRow, formatter: Formatter) -> list[str]:
    """What the status adds: days overdue, and how many payments were made."""
    notes: list[str] = []
    if row.days_overdue is not None:
        days = row.days_overdue
        notes.append(f"{formatter.count(days)} day{'s' if days != 1 else ''} overdue")
    paid = len(row.payments)
    if row.kind == "invoice" and row.status in ("partially-paid", "overdue", "open") and paid:
        notes.append(f"{formatter.count(paid)} payment{'s' if paid != 1 else ''} so far")
    return notes
