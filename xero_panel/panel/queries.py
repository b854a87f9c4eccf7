"""The panel's reads from the local cache: the six views, search, dates, paging, totals and
pins.

Plain SQLAlchemy (no Flask), and never a call to Xero. One panel page costs two queries
whatever the number of invoices: the record's summary (:mod:`.summaries`) and the page's
rows with their count, pins and payments (:mod:`.page_query`). Which documents each view
lists is stated in :mod:`.view_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..clock import utcnow
from ..models import Invoice, Organisation, Pin
from .page_query import PageShape, read_page
from .params import AgeBucket, SortName, ViewName
from .rows import (
    InvoiceRow,
    PanelPage,
    RecordRef,
    make_row,
    missing_row,
)
from .summaries import (
    contact_groups,
    record_summary,
    record_values,
)
from .view_rules import (
    LISTED,
    VIEW_RULES,
    rule_condition,
)


def _pins_of(record: RecordRef, org_ids: Sequence[int]) -> Any:
    return select(Pin).where(
        *Pin.of_record(record.crm_account, record.record_type, record.record_id, org_ids),
    )


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
    payments: bool = False,
) -> PanelPage:
    """One page of a view of the record's invoices in the ``sort`` order (newest first by
    default), narrowed to an ageing bucket by ``age``, with the record's summary (totals,
    ageing strip, fingerprint).

    Two queries whatever the number of invoices: the summary, and the page's rows with
    their count, pins and payments. Both statements are built once per shape of request
    (view, sort, which filters, how many organisations) and run with bound values.

    :param contacts: ``(organisation_id, ContactID)`` pairs the record matched.
    :param now: the clock ("today" per organisation); default the current time.
    :param payments: also work out how the record's customers pay (in the summary's query).

    A ``page`` past the last one gives no rows (the caller decides whether that is an
    error: compare with :attr:`PanelPage.last_page`).
    """
    now = now or utcnow()
    org_by_id = {o.id: o for o in organisations}
    shape = PageShape(
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
    summary = record_summary(
        session, organisations, contacts, record=record, now=now, payments=payments
    )
    found, count = read_page(
        session, shape, values, q=q, date_from=date_from, date_to=date_to, page=(page, page_size)
    )
    rows = tuple(
        missing_row(pin, org_by_id[pin.organisation_id])
        if invoice is None
        else make_row(invoice, org_by_id[invoice.organisation_id], now, pinned=bool(pinned))
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
        payments=summary.payments,
    )


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
