"""What one row of the panel says, worked out once per row in plain Python (no Flask), so
that the row's template only places ready strings: its amounts (plain and in the locale's
money), its dates, due text, status, notes, payments and URLs.

The words themselves are defined in :mod:`.formatting`; this module only gathers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import formatting
from .formatting import Formatter, plain_amount
from .rows import InvoiceRow, deep_link


@dataclass(frozen=True, slots=True)
class PaymentText:
    """One instalment as the *Payments* tooltip lists it."""

    number: int
    date: str
    amount: str
    text: str


@dataclass(frozen=True, slots=True)
class RowText:
    """One row as the panel shows it (``row`` holds the values; the rest is text)."""

    row: InvoiceRow
    pin_url: str
    xero_url: str
    balance: str
    total: str
    #: Credit applied to an invoice, plain (``""``: none, or a credit note).
    credited: str
    balance_text: str
    total_text: str
    credited_text: str
    date_text: str
    due_text: str
    #: The due text's classes (``xp-due xp-due-overdue``, ``xp-due xp-due-due xp-due-today``).
    due_class: str
    kind_label: str
    status_label: str
    notes: tuple[str, ...]
    #: The instalments the *Payments* tooltip lists (empty: no tooltip).
    payments: tuple[PaymentText, ...]


def row_text(
    row: InvoiceRow, fmt: Formatter, *, pin_url: Callable[[InvoiceRow], str], deep_link_base: str
) -> RowText:
    """The text of one row for the viewer's locale."""
    credit_note = row.kind == "credit_note"
    credited = row.kind == "invoice" and row.amount_credited > 0
    if credit_note and row.status != "voided":
        due, due_class = formatting.credit_note_text(row, fmt), "xp-due xp-due-credit"
    else:
        due, due_class = formatting.due_text(row, fmt), _due_class(row)
    payments = (
        tuple(
            PaymentText(
                number=p.number,
                date=p.date.isoformat(),
                amount=plain_amount(p.amount),
                text=f"Payment {p.number}: {fmt.date(p.date)}, {fmt.money(p.amount, row.currency)}",
            )
            for p in row.payments
        )
        if row.shows_payments
        else ()
    )
    return RowText(
        row=row,
        pin_url=pin_url(row),
        xero_url=deep_link(deep_link_base, row.short_code, row.kind, row.invoice_id),
        balance=plain_amount(row.balance),
        total=plain_amount(row.total),
        credited=plain_amount(row.amount_credited) if credited else "",
        balance_text=fmt.money(row.balance, row.currency),
        total_text=fmt.money(row.total, row.currency),
        credited_text=fmt.money(row.amount_credited, row.currency) if credited else "",
        date_text=fmt.date(row.date),
        due_text=due,
        due_class=due_class,
        kind_label="Credit note" if credit_note else "Invoice",
        status_label=formatting.status_label(row),
        notes=tuple(formatting.status_notes(row, fmt)),
        payments=payments,
    )


def _due_class(row: InvoiceRow) -> str:
    if row.due is None:
        return "xp-due"
    kind, days = row.due
    today = " xp-due-today" if kind == "due" and days == 0 else ""
    return f"xp-due xp-due-{kind}{today}"
