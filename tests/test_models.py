from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.conftest import HostApp
from tests.panel_fixtures import Cache
from xero_panel.connections import delete_account_data, get_connection, selected_organisations
from xero_panel.models import (
    Connection,
    ContactEmail,
    Invoice,
    Organisation,
    Payment,
    Pin,
    RecordLink,
    SyncState,
    WebhookEvent,
    XeroContact,
)

pytestmark = pytest.mark.usefixtures("database_url")


@pytest.fixture
def db_host(make_host: Any, database_url: str) -> HostApp:
    return make_host(database_url)


def add_account(session: Any, crm_account: str, tenant_id: str = "tenant-1") -> Organisation:
    connection = Connection(crm_account=crm_account, status="active", token_ciphertext="x")
    organisation = Organisation(
        connection=connection, tenant_id=tenant_id, name=f"{crm_account} Ltd"
    )
    contact = XeroContact(
        contact_id="c-1",
        name="Barney Rubble",
        name_key="barneyrubble",
        is_customer=True,
    )
    session.add_all([connection, organisation])
    session.flush()
    contact.organisation_id = organisation.id
    contact.emails.append(ContactEmail(organisation_id=organisation.id, email_key="b@x.test"))
    invoice = Invoice(
        organisation_id=organisation.id,
        xero_id=f"inv-{crm_account}",
        xero_type="ACCREC",
        number="INV-0001",
        contact_id="c-1",
        status="AUTHORISED",
        date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 11, 21),
        currency="NZD",
        total=Decimal("100.00"),
        balance=Decimal("60.00"),
        amount_paid=Decimal("40.00"),
        updated_at=dt.datetime(2026, 11, 1, 12, 30, tzinfo=dt.UTC),
    )
    invoice.payments.append(
        Payment(payment_id="p-1", date=dt.date(2026, 11, 5), amount=Decimal("40.00"))
    )
    session.add_all(
        [
            contact,
            invoice,
            SyncState(organisation_id=organisation.id),
            Pin(
                crm_account=crm_account,
                record_type="contact",
                record_id="1",
                organisation_id=organisation.id,
                xero_invoice_id=invoice.xero_id,
            ),
            RecordLink(
                crm_account=crm_account,
                record_type="account",
                record_id="1",
                organisation_id=organisation.id,
                contact_id="c-1",
            ),
        ]
    )
    session.commit()
    return organisation


def test_models_round_trip_money_and_dates_exactly(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        add_account(session, "acme")
        session.expire_all()
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.total == Decimal("100.00")
        assert invoice.balance == Decimal("60.00")
        assert invoice.date == dt.date(2026, 11, 1)
        assert invoice.updated_at == dt.datetime(2026, 11, 1, 12, 30, tzinfo=dt.UTC)
        assert [p.amount for p in invoice.payments] == [Decimal("40.00")]


def test_models_sum_of_money_is_exact(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        organisation = add_account(session, "acme")
        for n in range(10):
            session.add(
                Invoice(
                    organisation_id=organisation.id,
                    xero_id=f"x{n}",
                    xero_type="ACCREC",
                    contact_id="c-1",
                    status="AUTHORISED",
                    date=dt.date(2026, 1, 1),
                    currency="NZD",
                    total=Decimal("0.10"),
                    balance=Decimal("0.10"),
                )
            )
        session.commit()
        total = session.scalar(select(func.sum(Invoice.balance)).where(Invoice.xero_id.like("x%")))
        assert total == Decimal("1.00")


def test_models_naive_datetime_refused(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        session.add(Connection(crm_account="acme", activated_at=dt.datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            session.commit()
        session.rollback()


def test_models_invoice_unique_per_organisation(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        organisation = add_account(session, "acme")
        with pytest.raises(IntegrityError):  # add_account has an invoice "inv-acme" already
            Cache(session).invoice(organisation, "c-1", xero_id="inv-acme")
            session.commit()
        session.rollback()


def test_models_one_connection_per_crm_account(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        session.add_all([Connection(crm_account="acme"), Connection(crm_account="acme")])
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()


def test_models_same_xero_tenant_in_two_crm_accounts_kept_apart(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        add_account(session, "acme", tenant_id="shared")
        add_account(session, "globex", tenant_id="shared")
        assert [o.name for o in selected_organisations(session, "acme")] == ["acme Ltd"]
        assert [o.name for o in selected_organisations(session, "globex")] == ["globex Ltd"]


def test_webhook_event_deduplicated_by_key(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        event = dict(
            tenant_id="t",
            event_category="INVOICE",
            event_type="UPDATE",
            resource_id="r",
            event_date="2024-06-21T01:15:39.902",
        )
        session.add(WebhookEvent(**event))
        session.commit()
        session.add(WebhookEvent(**event))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()


def test_delete_account_data_removes_every_row_of_that_account_only(db_host: HostApp) -> None:
    with db_host.app.app_context():
        session = db_host.db.session
        add_account(session, "acme")
        add_account(session, "globex")
        delete_account_data(session, "acme")
        session.commit()
        assert get_connection(session, "acme") is None
        assert get_connection(session, "globex") is not None
        for model in (
            Organisation,
            XeroContact,
            ContactEmail,
            Invoice,
            Payment,
            SyncState,
            Pin,
            RecordLink,
        ):
            assert session.scalar(select(func.count()).select_from(model)) == 1, model.__name__


def test_panel_query_index_exists(db_host: HostApp) -> None:
    from sqlalchemy import inspect

    with db_host.app.app_context():
        indexes = {i["name"] for i in inspect(db_host.db.engine).get_indexes("xero_panel_invoice")}
    assert "ix_xero_panel_invoice_panel" in indexes


@pytest.mark.parametrize(
    ("table", "own"),
    [
        ("xero_panel_pin", ["xero_invoice_id", "pinned_by"]),
        ("xero_panel_record_link", ["contact_id", "linked_by"]),
    ],
)
def test_pin_and_record_link_tables_keep_their_schema(table: str, own: list[str]) -> None:
    # Both share their record columns through one mixin; the tables must not change.
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    from xero_panel.models import Base

    target = own[0]
    t = Base.metadata.tables[table]
    shared = ["id", "crm_account", "record_type", "record_id", "organisation_id"]
    assert [c.name for c in t.columns] == [*shared, *own, "created_at"]
    assert [(c.name, str(c.type.compile(postgresql.dialect())), c.nullable) for c in t.columns] == [
        ("id", "INTEGER", False),
        ("crm_account", "VARCHAR(128)", False),
        ("record_type", "VARCHAR(20)", False),
        ("record_id", "VARCHAR(128)", False),
        ("organisation_id", "INTEGER", False),
        (target, "VARCHAR(64)", False),
        (own[1], "VARCHAR(320)", True),
        ("created_at", "TIMESTAMP WITH TIME ZONE", False),
    ]
    ddl = str(CreateTable(t).compile(dialect=postgresql.dialect()))
    assert (
        f"CONSTRAINT uq_{table}_crm_account UNIQUE"
        f" (crm_account, record_type, record_id, organisation_id, {target})"
    ) in ddl
    (fk,) = t.foreign_key_constraints
    assert fk.name == f"fk_{table}_organisation_id_xero_panel_organisation"
    assert (
        "FOREIGN KEY(organisation_id) REFERENCES xero_panel_organisation (id) ON DELETE CASCADE"
    ) in ddl
    assert f"CONSTRAINT pk_{table} PRIMARY KEY (id)" in ddl
    (index,) = t.indexes
    assert str(CreateIndex(index).compile(dialect=postgresql.dialect())) == (
        f"CREATE INDEX ix_{table}_record ON {table} (crm_account, record_type, record_id)"
    )
