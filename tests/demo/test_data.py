"""The demo's data: records mirroring the seed, the plugin hooks, the rebuild, connecting Acme."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.demo.conftest import (
    client_as,
    count_all,
    customer_contacts,
    demo_app,
    free_port,
    hook_context,
    rows,
)

# -- CRM data mirrors the seed ---------------------------------------------------------------


def test_crm_accounts_named_like_customer_contacts(app, seed):
    names = [row["name"] for row in rows(app, demo_app.Account, "acme")]
    expected = [c["Name"] for c in customer_contacts(seed["tenants"][0])]
    assert names[: len(expected)] == expected


def test_crm_supplier_only_contacts_skipped(app, seed):
    names = {row["name"] for row in rows(app, demo_app.Account)}
    assert "PowerDirect" not in names
    assert "Vandelay Imports" not in names


def test_crm_contacts_without_flags_included(app):
    names = [row["name"] for row in rows(app, demo_app.Account, "acme")]
    assert "City Limousines" in names


def test_crm_contact_per_email_including_contact_persons(app, seed):
    emails = [row["email"] for row in rows(app, demo_app.Contact, "acme")]
    expected = []
    for contact in customer_contacts(seed["tenants"][0]):
        expected.append(contact["EmailAddress"])
        expected.extend(p["EmailAddress"] for p in contact["ContactPersons"])
    assert emails[: len(expected)] == expected


def test_crm_contacts_named_from_first_and_last_name(app):
    by_email = {row["email"]: row["name"] for row in rows(app, demo_app.Contact)}
    assert by_email["finance@ridgeway.test"] == "Priya Natarajan"
    assert by_email["tom.hale@ridgeway.test"] == "Tom Hale"
    assert by_email["denpok@hooli.test"] == "Denpok"


def test_crm_contacts_belong_to_their_xero_contacts_account(app):
    by_email = {row["email"]: row["account"] for row in rows(app, demo_app.Contact)}
    assert by_email["jo.bayley@baysideclub.test"] == "Bayside Club"
    assert by_email["purchasing@ridgeway.test"] == "Ridgeway University"


def test_crm_deal_per_account_with_its_contacts(app):
    deals = rows(app, demo_app.Deal, "acme")
    by_account = {deal["account"]: deal for deal in deals}
    assert len(by_account) == len(deals)
    assert set(by_account) == {row["name"] for row in rows(app, demo_app.Account, "acme")}
    assert by_account["Bayside Club"]["contacts"] == [
        "accounts@baysideclub.test",
        "jo.bayley@baysideclub.test",
    ]


def test_crm_globex_mirrors_second_tenant(app, seed):
    names = [row["name"] for row in rows(app, demo_app.Account, "globex")]
    expected = [c["Name"] for c in customer_contacts(seed["tenants"][1])]
    assert names[: len(expected)] == expected
    assert len(names) == len(expected) + 1


def test_crm_extras_match_nothing_in_seed(app, seed):
    seed_names = set()
    seed_emails = set()
    for tenant in seed["tenants"]:
        for contact in tenant["Contacts"]:
            seed_names.add(" ".join(contact["Name"].lower().split()))
            seed_emails.add(contact.get("EmailAddress", "").lower())
            seed_emails.update(p["EmailAddress"].lower() for p in contact["ContactPersons"])
    for slug in ("acme", "globex"):
        account = rows(app, demo_app.Account, slug)[-1]
        contact = rows(app, demo_app.Contact, slug)[-1]
        deal = rows(app, demo_app.Deal, slug)[-1]
        assert " ".join(account["name"].lower().split()) not in seed_names
        assert contact["email"].lower() not in seed_emails
        assert contact["account"] == account["name"]
        assert deal["account"] == account["name"]


def test_crm_ids_follow_seed_order(app):
    first = rows(app, demo_app.Contact)[0]
    assert (first["id"], first["email"]) == (1, "accounts@baysideclub.test")
    assert rows(app, demo_app.User)[0]["email"] == "admin@acme.test"


# -- the plugin hooks ------------------------------------------------------------------------


def test_record_loader_contact_gives_name_and_email(app):
    with hook_context(app, "rep@acme.test"):
        record = demo_app.load_record("contact", "2")
    assert record.name == "Jo Bayley"
    assert record.emails == ("jo.bayley@baysideclub.test",)


def test_record_loader_deal_gives_account_and_contacts(app):
    with hook_context(app, "rep@acme.test"):
        record = demo_app.load_record("deal", "1")
    assert record.account.name == "Bayside Club"
    assert [c.emails for c in record.contacts] == [
        ("accounts@baysideclub.test",),
        ("jo.bayley@baysideclub.test",),
    ]


@pytest.mark.parametrize(
    ("record_type", "record_id"),
    [("contact", "14"), ("account", "6"), ("deal", "x"), ("invoice", "1"), ("contact", "999")],
)
def test_record_loader_unknown_or_other_account_gives_none(app, record_type, record_id):
    with hook_context(app, "admin@acme.test"):
        assert demo_app.load_record(record_type, record_id) is None


def test_account_resolver_gives_crm_account_slug(app):
    with hook_context(app, "admin@globex.test"):
        assert demo_app.current_crm_account() == "globex"


def test_account_resolver_logged_out_gives_none(app):
    with app.test_request_context("/"):
        assert demo_app.current_crm_account() is None


@pytest.mark.parametrize(
    ("email", "expected"), [("admin@acme.test", True), ("rep@acme.test", False)]
)
def test_admin_check_follows_role(app, email, expected):
    with hook_context(app, email):
        assert demo_app.is_admin() is expected


# -- database rebuild ------------------------------------------------------------------------


def test_rebuild_database_twice_keeps_counts(app):
    before = count_all(app)
    demo_app.rebuild_database(app)
    assert count_all(app) == before
    assert before["User"] == 3 and before["CrmAccount"] == 2


def test_rebuild_database_keeps_ids(app):
    before = rows(app, demo_app.Contact)
    demo_app.rebuild_database(app)
    assert rows(app, demo_app.Contact) == before


def test_rebuild_database_on_postgres(seed):
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    schema = f"demo_test_{uuid.uuid4().hex[:10]}"
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)
    except psycopg.OperationalError:
        if os.environ.get("XP_TEST_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            app = demo_app.create_app(
                {"SQLALCHEMY_DATABASE_URI": f"{url}?options=-csearch_path%3D{schema}"},
                seed=seed,
            )
            demo_app.rebuild_database(app)
            before = count_all(app)
            demo_app.rebuild_database(app)
            assert count_all(app) == before
            assert rows(app, demo_app.Contact)[0]["id"] == 1
            with app.app_context():
                demo_app.db.engine.dispose()
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


# -- Xero: the seed, connecting Acme ----------------------------------------------------------


def test_seed_fixture_accepted_by_emulator(seed):
    from xero_emulator import Emulator

    Emulator(
        seed,
        webhook_url="http://127.0.0.1:9/integrations/xero/webhooks",
        webhook_key="k",
        control_enabled=False,
    )


def test_connect_acme_shows_organisation_on_integration_page(tmp_path, seed):
    from xero_emulator import Emulator

    emulator = Emulator(
        seed,
        webhook_url="http://127.0.0.1:9/integrations/xero/webhooks",
        webhook_key="demo-test-key",
        control_enabled=False,
    )
    server = emulator.serve(host="127.0.0.1", port=free_port())
    try:
        app = demo_app.create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/demo.db",
                "XERO_PANEL_WEBHOOK_KEY": "demo-test-key",
            },
            seed=seed,
            emulator_url=server.url,
        )
        demo_app.rebuild_database(app)
        demo_app.connect_acme(app, emulator)
        prefix = app.config["XERO_PANEL_URL_PREFIX"]
        acme = client_as(app, "admin@acme.test").get(f"{prefix}/settings")
        globex = client_as(app, "admin@globex.test").get(f"{prefix}/settings")
        with app.app_context():
            demo_app.db.engine.dispose()
    finally:
        server.shutdown()
    assert seed["tenants"][0]["tenantName"] in acme.get_data(as_text=True)
    assert seed["tenants"][0]["tenantName"] not in globex.get_data(as_text=True)
