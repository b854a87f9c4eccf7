"""A record the cache cannot store is skipped and counted; the rest of its page is stored
(xero_panel.sync.cache_writer), the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xero_panel.models import Connection, Invoice, Organisation
from xero_panel.sync.cache_writer import CacheWriter
from xero_panel.xero.types import Invoice as XeroInvoice
from xero_panel.xero.types import parse_invoice

GUID = "0f1e2d3c-4b5a-4968-8776-655443322110"


def invoice(invoice_id: str, number: str) -> XeroInvoice:
    """A sales invoice as the Xero client reads one (its ID checked by nobody here)."""
    return parse_invoice(
        {
            "InvoiceID": invoice_id,
            "InvoiceNumber": number,
            "Type": "ACCREC",
            "Status": "AUTHORISED",
            "Contact": {"ContactID": GUID},
            "DateString": "2026-07-01T00:00:00",
            "DueDateString": "2026-07-31T00:00:00",
            "CurrencyCode": "NZD",
            "Total": 10,
            "AmountDue": 10,
            "AmountPaid": 0,
            "UpdatedDateUTC": "/Date(1782864000000+0000)/",
        }
    )


def organisation(session: Session) -> int:
    connection = Connection(crm_account="acme", status="active")
    connection.organisations.append(Organisation(tenant_id="t", name="Org"))
    session.add(connection)
    session.commit()
    return connection.organisations[0].id


def test_a_record_with_an_id_longer_than_an_id_is_skipped_and_counted(session: Session) -> None:
    org_id = organisation(session)
    writer = CacheWriter(session, org_id)
    page = [
        invoice("1f1e2d3c-4b5a-4968-8776-655443322110", "INV-1"),
        invoice("x" * 65, "INV-2"),
        invoice("2f1e2d3c-4b5a-4968-8776-655443322110", "INV-3"),
    ]
    assert writer.write("invoices", page) == 2
    assert writer.skipped == ["a invoice whose ID is longer than 64 characters"]
    numbers = session.scalars(select(Invoice.number).order_by(Invoice.number)).all()
    assert numbers == ["INV-1", "INV-3"]
    # Stored again (a second sync): still two rows, and the skip counted again.
    assert writer.write("invoices", page) == 2
    assert len(writer.skipped) == 2


def test_a_value_the_database_refuses_skips_only_its_record(
    session: Session, database_url: str
) -> None:
    """PostgreSQL refuses a NUL character in text (SQLite stores it): that record is
    skipped with the database's reason, the rest of the page is stored."""
    org_id = organisation(session)
    writer = CacheWriter(session, org_id)
    page = [
        invoice("1f1e2d3c-4b5a-4968-8776-655443322110", "INV-1"),
        invoice("3f1e2d3c-4b5a-4968-8776-655443322110", "INV-\x00"),
        invoice("2f1e2d3c-4b5a-4968-8776-655443322110", "INV-3"),
    ]
    stored = writer.write("invoices", page)
    numbers = session.scalars(select(Invoice.number).order_by(Invoice.number)).all()
    if database_url.startswith("postgresql"):
        assert stored == 2 and numbers == ["INV-1", "INV-3"]
        (reason,) = writer.skipped
        assert reason.startswith("3f1e2d3c-4b5a-4968-8776-655443322110: ") and "NUL" in reason
    else:
        assert stored == 3 and writer.skipped == []
