"""xero_panel.sync.engine against the emulator over HTTP, counting the emulator's calls."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from xero_emulator import Emulator

from tests._sync_support import (
    EmulatorTokens,
    FakeTime,
    add_organisation,
    db_engine,
    generated_seed,
    make_client,
    tenant_calls,
)
from xero_panel.exceptions import XeroUnavailable
from xero_panel.models import Invoice, SyncState, XeroContact
from xero_panel.sync import engine
from xero_panel.sync.state import describe_problem


class World:
    def __init__(self, database_url: str, seed: dict[str, Any]) -> None:
        self.seed = seed
        self.tenant_id = seed["tenants"][0]["tenantId"]
        self.emulator = Emulator(seed, control_enabled=True)
        self.server = self.emulator.serve()
        self.tokens = EmulatorTokens(self.emulator)
        self.engine = db_engine(database_url)
        self.org_id = add_organisation(self.engine, self.tenant_id)

    def client(self, **kwargs: Any) -> Any:
        return make_client(self.server.url, self.tokens, **kwargs)

    def session(self) -> Session:
        return Session(self.engine)

    def calls(self) -> dict[str, Any]:
        return tenant_calls(self.emulator, self.tenant_id)

    def count(self, *where: Any) -> int:
        with self.session() as session:
            return int(session.scalar(select(func.count()).select_from(Invoice).where(*where)))

    def state(self) -> SyncState:
        with Session(self.engine, expire_on_commit=False) as session:
            found = session.get(SyncState, self.org_id)
            assert found is not None
            return found

    def full(self, **kwargs: Any) -> engine.SyncResult:
        with self.session() as session:
            return engine.full_sync(
                session, self.org_id, kwargs.pop("client", None) or self.client(), **kwargs
            )

    def incremental(self) -> engine.SyncResult:
        with self.session() as session:
            return engine.incremental_sync(session, self.org_id, self.client())

    def close(self) -> None:
        self.server.shutdown()
        from xero_panel.models import Base

        Base.metadata.drop_all(self.engine)
        self.engine.dispose()


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = World(database_url, generated_seed(30, n_contacts=6))
    yield w
    w.close()


def first_invoice(world: World, **match: Any) -> dict[str, Any]:
    for invoice in world.seed["tenants"][0]["Invoices"]:
        if all(invoice.get(k) == v for k, v in match.items()):
            return invoice
    raise AssertionError(f"no invoice like {match}")


def test_full_sync_cold_tenant_takes_ceil_n_over_1000_plus_3_calls(database_url: str) -> None:
    n = 2500
    w = World(database_url, generated_seed(n))
    try:
        progress: list[tuple[int, int | None]] = []
        result = w.full(progress=lambda done, total: progress.append((done, total)))
        calls = w.calls()
        assert calls["calls"] <= math.ceil(n / 1000) + 3
        assert calls["rate_limited"] == 0
        assert calls["by_endpoint"] == {
            "Organisation": 1,
            "Contacts": 1,
            "Invoices": 3,
            "CreditNotes": 1,
        }
        assert result.invoices == n
        assert w.count(Invoice.kind == "invoice") == n
        state = w.state()
        assert (state.status, state.phase) == ("idle", None)
        assert state.progress_done == state.progress_total == progress[-1][0]
        assert state.full_sync_completed_at is not None and state.fresh_at is not None
    finally:
        w.close()


def test_full_sync_stores_only_sales_documents(world: World) -> None:
    world.full()
    assert world.count(Invoice.xero_type == "ACCPAY") == 0
    assert world.count(Invoice.xero_type == "ACCPAYCREDIT") == 0
    assert world.count(Invoice.kind == "credit_note") == 4
    assert world.count() == 34


def test_full_sync_run_twice_leaves_the_same_cache(world: World) -> None:
    world.full()
    with world.session() as session:
        before = sorted(
            session.execute(select(Invoice.xero_id, Invoice.balance, Invoice.status)).all()
        )
        contacts = session.scalar(select(func.count()).select_from(XeroContact))
    world.full()
    with world.session() as session:
        after = sorted(
            session.execute(select(Invoice.xero_id, Invoice.balance, Invoice.status)).all()
        )
        assert session.scalar(select(func.count()).select_from(XeroContact)) == contacts
    assert before == after


def test_full_sync_stores_contact_emails_lower_cased(world: World) -> None:
    world.full()
    with world.session() as session:
        contact = session.scalars(
            select(XeroContact).where(XeroContact.name == "Customer 0001 Ltd")
        ).one()
        assert contact.name_key == "customer0001ltd"
        assert [e.email_key for e in contact.emails] == [
            "accounts1@customer1.test",
            "pat@customer1.test",
        ]


def test_incremental_sync_unchanged_tenant_is_one_call(world: World) -> None:
    world.full()
    world.emulator.reset_stats()
    result = world.incremental()
    assert world.calls()["by_endpoint"] == {"Invoices": 1}
    assert result.calls == 1


def test_incremental_sync_picks_up_a_new_payment(world: World) -> None:
    world.full()
    invoice = first_invoice(world, Status="AUTHORISED", Payments=[])
    world.emulator.add_payment(world.tenant_id, invoice["InvoiceID"], {"Amount": 1})
    world.emulator.reset_stats()
    world.incremental()
    assert world.calls()["calls"] == 1
    with world.session() as session:
        row = session.scalars(select(Invoice).where(Invoice.xero_id == invoice["InvoiceID"])).one()
        assert [p.amount for p in row.payments] == [Decimal("1.00")]
        assert row.amount_paid == Decimal("1.00")


def test_incremental_sync_fetches_a_new_contact_by_id(world: World) -> None:
    world.full()
    contact = world.emulator.apply_change(
        "Contacts", world.tenant_id, {"Name": "Newcomer Ltd", "EmailAddress": "New@Comer.test"}
    )
    world.emulator.apply_change(
        "Invoices",
        world.tenant_id,
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "Date": "2026-07-01",
            "Status": "AUTHORISED",
            "Total": 10,
        },
    )
    world.emulator.reset_stats()
    world.incremental()
    assert world.calls()["by_endpoint"] == {"Invoices": 1, "Contacts": 1}
    with world.session() as session:
        row = session.scalars(
            select(XeroContact).where(XeroContact.contact_id == contact["ContactID"])
        ).one()
        assert [e.email_key for e in row.emails] == ["new@comer.test"]


def test_incremental_sync_stores_a_voided_invoice(world: World) -> None:
    world.full()
    invoice = first_invoice(world, Status="AUTHORISED", Payments=[])
    world.emulator.apply_change(
        "Invoices", world.tenant_id, {"InvoiceID": invoice["InvoiceID"], "Status": "VOIDED"}
    )
    world.incremental()
    assert world.count(Invoice.xero_id == invoice["InvoiceID"], Invoice.status == "VOIDED") == 1


def test_incremental_sync_stores_the_expected_payment_date(world: World) -> None:
    world.full()
    invoice = first_invoice(world, Status="AUTHORISED", Payments=[])
    world.emulator.apply_change(
        "Invoices",
        world.tenant_id,
        {"InvoiceID": invoice["InvoiceID"], "ExpectedPaymentDate": "2026-12-12"},
    )
    world.incremental()
    with world.session() as session:
        row = session.scalars(select(Invoice).where(Invoice.xero_id == invoice["InvoiceID"])).one()
        assert row.expected_payment_on == dt.date(2026, 12, 12)


def test_incremental_sync_moves_the_watermark(world: World) -> None:
    world.full()
    before = world.state().invoices_modified_since
    invoice = first_invoice(world, Status="AUTHORISED", Payments=[])
    world.emulator.apply_change(
        "Invoices", world.tenant_id, {"InvoiceID": invoice["InvoiceID"], "Reference": "moved"}
    )
    world.incremental()
    after = world.state().invoices_modified_since
    assert before is not None and after is not None and after > before


def test_sync_contacts_fetches_one_records_documents_in_two_calls(world: World) -> None:
    contact_id = world.seed["tenants"][0]["Contacts"][1]["ContactID"]
    with world.session() as session:
        result = engine.sync_contacts(session, world.org_id, world.client(), [contact_id])
    assert world.calls()["by_endpoint"] == {"Invoices": 1, "CreditNotes": 1}
    assert result.invoices == 5
    assert world.count(Invoice.contact_id == contact_id, Invoice.kind == "invoice") == 5
    assert world.count(Invoice.contact_id != contact_id) == 0


def test_sync_by_ids_drops_bills_and_keeps_sales_invoices(world: World) -> None:
    sale = first_invoice(world, Type="ACCREC")
    bill = first_invoice(world, Type="ACCPAY")
    with world.session() as session:
        engine.sync_by_ids(
            session,
            world.org_id,
            world.client(),
            invoice_ids=[sale["InvoiceID"], bill["InvoiceID"]],
        )
    assert world.count() == 1
    assert world.count(Invoice.xero_id == sale["InvoiceID"]) == 1


def test_sync_by_ids_fetches_credit_notes_and_contacts(world: World) -> None:
    tenant = world.seed["tenants"][0]
    note = next(n for n in tenant["CreditNotes"] if n["Type"] == "ACCRECCREDIT")
    contact = tenant["Contacts"][3]
    with world.session() as session:
        result = engine.sync_by_ids(
            session,
            world.org_id,
            world.client(),
            credit_note_ids=[note["CreditNoteID"]],
            contact_ids=[contact["ContactID"]],
        )
    assert (result.credit_notes, result.contacts) == (1, 2)
    assert world.count(Invoice.kind == "credit_note") == 1


def test_reconcile_catches_a_silent_due_date_edit(world: World) -> None:
    invoice = first_invoice(world, Status="AUTHORISED")
    if not invoice["Payments"]:
        invoice = next(
            i
            for i in world.seed["tenants"][0]["Invoices"]
            if i["Status"] == "AUTHORISED"
            and i["Payments"]
            and i["Type"] == "ACCREC"
            and i["Payments"][0]["Amount"] < i["Total"]
        )
    world.full()
    world.emulator.apply_change(
        "Invoices", world.tenant_id, {"InvoiceID": invoice["InvoiceID"], "DueDate": "2030-01-31"}
    )
    world.incremental()  # If-Modified-Since misses it (Xero did not bump UpdatedDateUTC)
    with world.session() as session:
        row = session.scalars(select(Invoice).where(Invoice.xero_id == invoice["InvoiceID"])).one()
        assert row.due_date != dt.date(2030, 1, 31)
        engine.reconcile(session, world.org_id, world.client())
    with world.session() as session:
        row = session.scalars(select(Invoice).where(Invoice.xero_id == invoice["InvoiceID"])).one()
        assert row.due_date == dt.date(2030, 1, 31)
    assert world.state().reconciled_at is not None


def test_reconcile_stores_archived_and_merged_contacts(world: World) -> None:
    world.full()
    tenant = world.seed["tenants"][0]
    gone, kept = tenant["Contacts"][4], tenant["Contacts"][5]
    world.emulator.apply_change(
        "Contacts",
        world.tenant_id,
        {
            "ContactID": gone["ContactID"],
            "ContactStatus": "ARCHIVED",
            "MergedToContactID": kept["ContactID"],
        },
        bump_updated=False,
        fire_webhook=False,
    )
    with world.session() as session:
        engine.reconcile(session, world.org_id, world.client())
        row = session.scalars(
            select(XeroContact).where(XeroContact.contact_id == gone["ContactID"])
        ).one()
        assert (row.status, row.merged_to_contact_id) == ("ARCHIVED", kept["ContactID"])


def test_full_sync_honours_retry_after_on_429(world: World) -> None:
    fake = FakeTime(world.emulator)
    world.emulator.add_fault({"endpoint": "Invoices", "status": 429, "times": 1})
    result = world.full(client=world.client(fake=fake, max_wait=120))
    assert 60.0 in fake.sleeps
    assert world.calls()["rate_limited"] == 1
    assert result.invoices == 30


def test_full_sync_stays_under_xero_minute_limit(world: World) -> None:
    fake = FakeTime(world.emulator)
    world.emulator.limiter.configure({"per_minute": 2})
    world.full(client=world.client(fake=fake, max_wait=300), page_size=10)
    assert world.calls()["rate_limited"] == 0
    assert world.calls()["calls"] == 6
    assert sum(fake.sleeps) >= 60


def test_full_sync_failure_is_recorded(world: World) -> None:
    world.emulator.add_fault({"endpoint": "Contacts", "status": 503})
    with pytest.raises(XeroUnavailable):
        world.full(client=world.client(max_retries=1))
    state = world.state()
    assert state.status == "failed"
    assert state.last_error == "Xero answered HTTP 503."
    assert (state.trouble, state.failures) == ("xero-error", 1)
    assert state.full_sync_completed_at is None


def test_describe_problem_rate_limited() -> None:
    from xero_panel.exceptions import RateLimited

    limited = RateLimited("Xero's minute limit was reached; try again in 5 s.", retry_after=5)
    assert describe_problem(limited) == "Xero's minute limit was reached; try again in 5 s."


def test_values_past_any_former_column_length_are_stored_on_both_databases(world: World) -> None:
    """One invoice's CurrencyCode over 3 characters (or a long number or reference) made every
    refresh fail on PostgreSQL (StringDataRightTruncation) while SQLite stored it: Xero's text
    is stored whole on both."""
    world.full()
    contact = first_invoice(world, Type="ACCREC")["Contact"]["ContactID"]
    odd = world.emulator.apply_change(
        "Invoices",
        world.tenant_id,
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact},
            "Date": "2026-07-01",
            "Status": "AUTHORISED",
            "Total": 10,
            "CurrencyCode": "NZDOLLARS",
            "InvoiceNumber": "INV-" + "9" * 400,
            "Reference": "r" * 1000,
        },
    )
    paid = first_invoice(world, Status="AUTHORISED", Payments=[])
    world.emulator.add_payment(world.tenant_id, paid["InvoiceID"], {"Amount": 2})
    result = world.incremental()
    assert result.skipped == 0
    with world.session() as session:
        stored = session.scalars(select(Invoice).where(Invoice.xero_id == odd["InvoiceID"])).one()
        assert (stored.currency, len(stored.number), len(stored.reference or "")) == (
            "NZDOLLARS",
            404,
            1000,
        )
        updated = session.scalars(select(Invoice).where(Invoice.xero_id == paid["InvoiceID"]))
        assert updated.one().amount_paid == Decimal("2.00")
        state = session.get_one(SyncState, world.org_id)
        assert (state.trouble, state.skipped_records) == (None, 0)
