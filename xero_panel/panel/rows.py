"""The panel's rows as plain values: an invoice or credit note, its payments, the totals and
one page of a view; built from cached models by :func:`make_row` and :func:`missing_row`.

Plain Python (no Flask).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from ..models import Invoice, Organisation, Pin
from .payment_rules import PaymentBehaviour, expected_payment
from .view_rules import DueKind, RowStatus, due_info, row_status, today_in

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RecordRef:
    """The CRM record a panel belongs to (pins are stored per CRM account and record)."""

    crm_account: str
    record_type: str
    record_id: str


@dataclass(frozen=True)
class PaymentRow:
    """One payment (instalment) of an invoice, numbered from 1 in date order."""

    number: int
    date: dt.date
    amount: Decimal
    reference: str | None


@dataclass(frozen=True)
class InvoiceRow:
    """One row of the panel: an invoice or a credit note as the panel shows it.

    :ivar invoice_id: Xero's ``InvoiceID`` (or ``CreditNoteID``).
    :ivar missing: pinned, but no longer in the cache (deleted in Xero).
    :ivar days_overdue: days since the due date, for unpaid invoices past it.
    """

    organisation_id: int
    organisation_name: str
    short_code: str | None
    invoice_id: str
    number: str
    kind: Literal["invoice", "credit_note"]
    xero_status: str
    status: RowStatus
    date: dt.date | None
    due_date: dt.date | None
    currency: str
    total: Decimal
    balance: Decimal
    amount_paid: Decimal
    days_overdue: int | None
    payments: tuple[PaymentRow, ...]
    pinned: bool
    missing: bool = False
    #: Credit notes, overpayments and prepayments applied (Xero's ``AmountCredited``).
    amount_credited: Decimal = ZERO
    fully_paid_on: dt.date | None = None
    #: Xero's expected payment date, on unpaid invoices that have one.
    expected_payment_on: dt.date | None = None
    #: The due information (``view_rules.due_info``): paid, due in N days, N days overdue.
    due: tuple[DueKind, int | None] | None = None
    #: Changes whenever the cached document changes (live updates mark changed rows).
    version: str = ""
    #: The cached document's own key (0 for a missing one): short, unique element ids.
    key: int = 0

    @property
    def shows_payments(self) -> bool:
        """Whether the row offers the *Payments* tooltip: two or more payments, or a
        part-paid invoice."""
        if self.kind != "invoice" or self.status == "voided" or not self.payments:
            return False
        return len(self.payments) >= 2 or (self.amount_paid > 0 and self.balance > 0)


@dataclass(frozen=True)
class CurrencyTotal:
    """*Total paid* (sum of AmountPaid) and *Total unpaid* (sum of AmountDue) in one
    currency, over every listed invoice of the record (credit notes excluded).

    :ivar part_paid: the part of ``paid`` paid on invoices still unpaid.
    :ivar credited: credit applied to the invoices (AmountCredited), in neither total.
    :ivar credit: unused credit: the credit notes' remaining credit.
    """

    currency: str
    paid: Decimal
    unpaid: Decimal
    part_paid: Decimal = ZERO
    credited: Decimal = ZERO
    credit: Decimal = ZERO
    #: Whether the record has invoices in this currency (not only credit notes).
    has_invoices: bool = True


@dataclass(frozen=True)
class AgeAmount:
    """One ageing bucket in one currency: the unpaid balances and how many invoices."""

    bucket: str
    currency: str
    amount: Decimal
    count: int


@dataclass(frozen=True)
class PanelPage:
    """One page of one view, with the record's totals.

    :ivar count: rows in the view (after search and dates), over all pages.
    """

    rows: tuple[InvoiceRow, ...]
    count: int
    page: int
    page_size: int
    totals: tuple[CurrencyTotal, ...]
    aging: tuple[AgeAmount, ...] = ()
    #: The live update's fingerprint of the record's documents and pins.
    version: str = ""
    #: How the record's customers pay (``None`` when the panel does not show it).
    payments: PaymentBehaviour | None = None

    @property
    def last_page(self) -> int:
        """The last page number (1 for an empty view)."""
        return max(1, math.ceil(self.count / self.page_size))

    @property
    def has_more(self) -> bool:
        """Whether a further page exists."""
        return self.page < self.last_page


def deep_link(base_url: str, short_code: str | None, kind: str, xero_id: str) -> str:
    """The URL that opens an invoice or credit note in Xero, in the right organisation.

    With the organisation's short code, Xero's login switches to that organisation first:
    ``{base}/organisationlogin/default.aspx?shortcode=!mBdtL&redirecturl=/AccountsReceivable/
    View.aspx?InvoiceID=...``, as Xero documents it: the values are encoded, but ``!``, ``/``,
    ``?`` and ``=`` may stand in a query as they are, so they do (a page repeats the link in
    every row).
    """
    if kind == "credit_note":
        path = f"/AccountsReceivable/ViewCreditNote.aspx?creditNoteID={quote(xero_id, safe='')}"
    else:
        path = f"/AccountsReceivable/View.aspx?InvoiceID={quote(xero_id, safe='')}"
    base = base_url.rstrip("/")
    if not short_code:
        return f"{base}{path}"
    return (
        f"{base}/organisationlogin/default.aspx?shortcode={quote(short_code, safe='!')}"
        f"&redirecturl={quote(path, safe='/?=')}"
    )


def _payment_order(payment: Any) -> tuple[dt.date, int]:
    return (payment.date, payment.id or 0)


#: The row fields copied as they are from the cached document.
_COPIED = ("number", "date", "due_date", "currency", "total", "balance", "amount_paid")
#: What a pinned document the cache no longer has shows (besides its id and organisation).
_MISSING: dict[str, Any] = {
    **dict.fromkeys(("date", "due_date", "days_overdue")),
    **dict.fromkeys(("total", "balance", "amount_paid"), ZERO),
    **{"number": "", "currency": "", "payments": ()},
    **{"kind": "invoice", "xero_status": "DELETED", "status": "voided", "missing": True},
}


def _organisation_fields(organisation: Organisation) -> dict[str, Any]:
    return {
        "organisation_id": organisation.id,
        "organisation_name": organisation.name,
        "short_code": organisation.short_code,
    }


def make_row(
    invoice: Invoice, organisation: Organisation, now: dt.datetime, *, pinned: bool
) -> InvoiceRow:
    """The panel row for a cached invoice or credit note."""
    today = today_in(organisation, now)
    status, days = row_status(invoice, today)
    kind: Literal["invoice", "credit_note"] = (
        "credit_note" if invoice.kind == "credit_note" else "invoice"
    )
    payments = tuple(
        PaymentRow(number=i, date=p.date, amount=p.amount, reference=p.reference)
        for i, p in enumerate(sorted(invoice.payments, key=_payment_order), start=1)
    )
    copied = {name: getattr(invoice, name) for name in _COPIED}
    return InvoiceRow(
        **_organisation_fields(organisation),
        **copied,
        invoice_id=invoice.xero_id,
        kind=kind,
        xero_status=invoice.status,
        status=status,
        days_overdue=days,
        payments=payments,
        pinned=pinned,
        amount_credited=invoice.amount_credited or ZERO,
        fully_paid_on=invoice.fully_paid_on,
        expected_payment_on=expected_payment(invoice, today),
        due=due_info(invoice, today),
        version=_version(invoice),
        key=invoice.id,
    )


def _version(invoice: Invoice) -> str:
    """10 hex characters that change with the document's status, amounts or update time."""
    updated = invoice.updated_at.isoformat() if invoice.updated_at else ""
    text = f"{invoice.status}|{invoice.balance}|{invoice.amount_paid}|{updated}"
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def missing_row(pin: Pin, organisation: Organisation) -> InvoiceRow:
    """The row of a pinned invoice the cache no longer has (deleted in Xero)."""
    fields = _organisation_fields(organisation)
    return InvoiceRow(**fields, **_MISSING, invoice_id=pin.xero_invoice_id, pinned=True)
