"""The fleet benchmark's cache (``bench_fleet.py``): filled as the organisations' first
syncs would have left it, and checked at the end for every change the run fetched."""

from __future__ import annotations

from typing import Any

from bench_common import check


def setup_cache(database_url: str, seed: dict[str, Any]) -> Any:
    """The plugin's tables made in the run's own (empty) database, holding every
    organisation's contacts and invoices as its first full sync would have left them (so a
    webhook's fetch is one call, as in production, not two: the named invoice's contact is
    cached)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from xero_panel.models import Base, Connection, Organisation
    from xero_panel.sync.cache_writer import CacheWriter
    from xero_panel.xero.types import parse_contact, parse_invoice

    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        connection = Connection(crm_account="fleet", status="active")
        books = seed["tenants"]
        for book in books:
            connection.organisations.append(
                Organisation(tenant_id=book["tenantId"], name=book["tenantName"])
            )
        session.add(connection)
        session.commit()
        for organisation, book in zip(connection.organisations, books, strict=True):
            writer = CacheWriter(session, organisation.id)
            writer.write("contacts", [parse_contact(c) for c in book["Contacts"]])
            writer.write("invoices", [parse_invoice(i) for i in book["Invoices"]])
    return engine


def verify_cache(engine: Any, expected: dict[tuple[str, str], str]) -> None:
    """Every changed invoice's last change is in the cache (else the run measured nothing)."""
    from sqlalchemy import select

    from xero_panel.models import Invoice, Organisation

    with engine.connect() as db:
        rows = db.execute(
            select(Organisation.tenant_id, Invoice.xero_id, Invoice.reference).join(
                Organisation, Invoice.organisation_id == Organisation.id
            )
        ).all()
    cached = {(t, i): r for t, i, r in rows}
    wrong = [key for key, marker in expected.items() if cached.get(key) != marker]
    check(
        not wrong,
        f"the cache does not hold {len(wrong)} of the {len(expected)} changes it fetched"
        f" (for example {wrong[:1]})",
    )
