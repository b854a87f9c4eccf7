"""The demo CRM (demo_app.py): login, pages, CRM data mirroring the seed, settings, the CLI."""

from __future__ import annotations

import importlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from flask_login import FlaskLoginClient, login_user
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = ROOT / "tests" / "fixtures" / "demo_seed.json"
# demo_app.py is a top-level script, not part of the package. Appending (not prepending) the
# repository keeps an installed xero_panel ahead of the source tree.
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
demo_app = importlib.import_module("demo_app")

USERS = {
    "admin@acme.test": ("Acme", "Admin"),
    "rep@acme.test": ("Acme", "Sales rep"),
    "admin@globex.test": ("Globex", "Admin"),
}
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK_RE = re.compile(r'<a [^>]*data-testid="record-link"[^>]*>')


@pytest.fixture
def seed():
    return json.loads(SEED_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def app(tmp_path, seed):
    app = demo_app.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/demo.db", "TESTING": True},
        seed=seed,
    )
    demo_app.rebuild_database(app)
    yield app
    with app.app_context():
        demo_app.db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def client_as(app, email):
    """A test client already signed in as ``email`` (Flask-Login's FlaskLoginClient)."""
    with app.app_context():
        user = demo_app.db.session.scalar(select(demo_app.User).where(demo_app.User.email == email))
    app.test_client_class = FlaskLoginClient
    return app.test_client(user=user)


def csrf_token(client, path="/login"):
    match = CSRF_RE.search(client.get(path).get_data(as_text=True))
    assert match, f"no csrf_token field on {path}"
    return match.group(1)


def log_in(client, email, password=demo_app.DEMO_PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def links(html, record_type=None):
    """The record links on a page as dicts of their data-* attributes."""
    found = []
    for tag in LINK_RE.findall(html):
        attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))
        if record_type is None or attrs.get("record-type") == record_type:
            found.append(attrs)
    return found


def rows(app, model, crm_slug=None):
    with app.app_context():
        query = select(model).order_by(model.id)
        if crm_slug is not None:
            query = query.join(
                demo_app.CrmAccount, demo_app.CrmAccount.id == model.crm_account_id
            ).where(demo_app.CrmAccount.slug == crm_slug)
        records = demo_app.db.session.scalars(query).all()
        return [
            {
                "id": r.id,
                "name": r.name,
                "email": getattr(r, "email", None),
                "account": getattr(getattr(r, "account", None), "name", None),
                "contacts": [c.email for c in getattr(r, "contacts", [])],
            }
            for r in records
        ]


def customer_contacts(tenant):
    return [c for c in tenant["Contacts"] if not (c.get("IsSupplier") and not c.get("IsCustomer"))]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- login and logout ---------------------------------------------------------------------


def test_login_page_has_email_password_and_csrf_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html
    assert 'name="password"' in html
    assert CSRF_RE.search(html)
    assert '<label for="email">' in html and '<label for="password">' in html


@pytest.mark.parametrize("email", list(USERS))
def test_login_valid_user_redirects_to_contacts(client, email):
    response = log_in(client, email)
    assert response.status_code == 302
    assert response.location.endswith("/contacts")


@pytest.mark.parametrize("email", list(USERS))
def test_login_top_bar_shows_account_email_and_role(client, email):
    log_in(client, email)
    html = client.get("/contacts").get_data(as_text=True)
    crm_account, role = USERS[email]
    assert f'data-testid="crm-account-name">{crm_account}<' in html
    assert f'data-testid="current-user">{email}<' in html
    assert f'data-testid="current-role">{role}<' in html


def test_login_wrong_password_shows_form_with_message(client):
    response = log_in(client, "admin@acme.test", password="nope")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'data-testid="login-error"' in html
    assert "Wrong email or password" in html
    assert 'name="password"' in html
    assert client.get("/contacts").status_code == 302


def test_login_unknown_email_rejected(client):
    response = log_in(client, "nobody@acme.test")
    assert response.status_code == 401
    assert client.get("/contacts").status_code == 302


def test_login_without_csrf_token_rejected(client):
    response = client.post("/login", data={"email": "admin@acme.test", "password": "demo"})
    assert response.status_code == 400
    assert 'name="email"' in response.get_data(as_text=True)
    assert client.get("/contacts").status_code == 302


def test_login_next_goes_back_to_requested_page(client):
    token = csrf_token(client)
    response = client.post(
        "/login?next=/deals/1",
        data={"email": "admin@acme.test", "password": "demo", "csrf_token": token},
    )
    assert response.location.endswith("/deals/1")


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/x", "/\\evil.test"])
def test_login_next_to_other_site_ignored(client, target):
    token = csrf_token(client)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "admin@acme.test", "password": "demo", "csrf_token": token},
    )
    assert response.location.endswith("/contacts")


def test_logout_signs_out(client):
    log_in(client, "admin@acme.test")
    token = csrf_token(client, "/contacts")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.location.endswith("/login")
    assert client.get("/contacts").status_code == 302


def test_logout_get_not_allowed(client):
    log_in(client, "admin@acme.test")
    assert client.get("/logout").status_code == 405
    assert client.get("/contacts").status_code == 200


# -- redirects for logged-out users ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/contacts",
        "/accounts",
        "/deals",
        "/contacts/1",
        "/accounts/1",
        "/deals/1",
        "/settings",
        "/settings/marketplace",
    ],
)
def test_logged_out_redirected_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_index_logged_out_redirects_to_login(client):
    assert client.get("/").location.endswith("/login")


def test_index_logged_in_redirects_to_contacts(app):
    assert client_as(app, "rep@acme.test").get("/").location.endswith("/contacts")


# -- list pages ------------------------------------------------------------------------------


def test_contacts_list_rows_have_record_link_attributes(app):
    html = client_as(app, "rep@acme.test").get("/contacts").get_data(as_text=True)
    expected = rows(app, demo_app.Contact, "acme")
    assert links(html, "contact") == [
        {
            "testid": "record-link",
            "record-type": "contact",
            "record-id": str(row["id"]),
            "name": row["name"],
            "email": row["email"],
        }
        for row in expected
    ]


def test_accounts_list_rows_have_record_link_attributes(app):
    html = client_as(app, "rep@acme.test").get("/accounts").get_data(as_text=True)
    expected = rows(app, demo_app.Account, "acme")
    assert links(html, "account") == [
        {
            "testid": "record-link",
            "record-type": "account",
            "record-id": str(row["id"]),
            "name": row["name"],
        }
        for row in expected
    ]


def test_deals_list_rows_have_record_link_attributes(app):
    html = client_as(app, "rep@acme.test").get("/deals").get_data(as_text=True)
    expected = rows(app, demo_app.Deal, "acme")
    assert [(link["record-id"], link["name"]) for link in links(html, "deal")] == [
        (str(row["id"]), row["name"]) for row in expected
    ]


def test_lists_show_only_own_crm_account_records(app):
    html = client_as(app, "admin@globex.test").get("/accounts").get_data(as_text=True)
    names = [link["name"] for link in links(html)]
    assert "Hooli Pty Ltd" in names
    assert "Bayside Club" not in names


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


# -- detail pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("record_type", ["contact", "account", "deal"])
def test_detail_page_embeds_panel(app, record_type):
    html = client_as(app, "rep@acme.test").get(f"/{record_type}s/1").get_data(as_text=True)
    assert re.search(
        rf'<section[^>]*data-xero-panel[^>]*data-record-type="{record_type}"[^>]*'
        r'data-record-id="1"',
        html,
    )


def test_detail_page_contact_shows_fields_and_links_account(app):
    html = client_as(app, "rep@acme.test").get("/contacts/2").get_data(as_text=True)
    assert "jo.bayley@baysideclub.test" in html
    assert 'href="/accounts/1" data-testid="related-account">Bayside Club<' in html
    assert 'href="/deals/1" data-testid="related-deal"' in html


def test_detail_page_deal_links_account_and_contacts(app):
    html = client_as(app, "rep@acme.test").get("/deals/1").get_data(as_text=True)
    assert 'href="/accounts/1" data-testid="related-account"' in html
    assert 'href="/contacts/1" data-testid="related-contact"' in html
    assert 'href="/contacts/2" data-testid="related-contact"' in html


@pytest.mark.parametrize("record_type", ["contact", "account", "deal"])
def test_detail_page_other_crm_account_record_404(app, record_type):
    globex_id = rows(app, getattr(demo_app, record_type.capitalize()), "globex")[0]["id"]
    acme = client_as(app, "admin@acme.test")
    response = acme.get(f"/{record_type}s/{globex_id}")
    assert response.status_code == 404
    assert 'data-testid="error-page"' in response.get_data(as_text=True)


@pytest.mark.parametrize("record_id", ["999", "0", "-1", "abc", "1.5", "99999999999999999999"])
def test_detail_page_unknown_id_404(app, record_id):
    assert client_as(app, "rep@acme.test").get(f"/contacts/{record_id}").status_code == 404


# -- the plugin hooks ------------------------------------------------------------------------


def hook_context(app, email):
    ctx = app.test_request_context("/")
    ctx.push()
    user = demo_app.db.session.scalar(select(demo_app.User).where(demo_app.User.email == email))
    login_user(user)
    return ctx


def test_record_loader_contact_gives_name_and_email(app):
    ctx = hook_context(app, "rep@acme.test")
    try:
        record = demo_app.load_record("contact", "2")
    finally:
        ctx.pop()
    assert record.name == "Jo Bayley"
    assert record.emails == ("jo.bayley@baysideclub.test",)


def test_record_loader_deal_gives_account_and_contacts(app):
    ctx = hook_context(app, "rep@acme.test")
    try:
        record = demo_app.load_record("deal", "1")
    finally:
        ctx.pop()
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
    ctx = hook_context(app, "admin@acme.test")
    try:
        assert demo_app.load_record(record_type, record_id) is None
    finally:
        ctx.pop()


def test_account_resolver_gives_crm_account_slug(app):
    ctx = hook_context(app, "admin@globex.test")
    try:
        assert demo_app.current_crm_account() == "globex"
    finally:
        ctx.pop()


def test_account_resolver_logged_out_gives_none(app):
    with app.test_request_context("/"):
        assert demo_app.current_crm_account() is None


@pytest.mark.parametrize(
    ("email", "expected"), [("admin@acme.test", True), ("rep@acme.test", False)]
)
def test_admin_check_follows_role(app, email, expected):
    ctx = hook_context(app, email)
    try:
        assert demo_app.is_admin() is expected
    finally:
        ctx.pop()


# -- settings and marketplace ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/settings", "/settings/marketplace"])
def test_settings_rep_gets_403_page(app, path):
    response = client_as(app, "rep@acme.test").get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Only admins can open this page" in html


def test_settings_nav_hidden_for_rep(app):
    html = client_as(app, "rep@acme.test").get("/contacts").get_data(as_text=True)
    assert 'href="/settings"' not in html


def test_settings_admin_sees_marketplace_nav(app):
    html = client_as(app, "admin@acme.test").get("/settings").get_data(as_text=True)
    assert "Apps &amp; Integrations" in html
    assert 'href="/settings/marketplace"' in html


def test_marketplace_admin_sees_search_box_and_apps(app):
    response = client_as(app, "admin@globex.test").get("/settings/marketplace")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<input[^>]*name="q"[^>]*type="search"', html)
    assert '<label for="marketplace-search">' in html
    for name in ("Mailbox sync", "Calendar", "E-signature"):
        assert f'data-app="{name}"' in html


def test_marketplace_search_filters_case_insensitively(app):
    html = (
        client_as(app, "admin@acme.test")
        .get("/settings/marketplace?q=CALENDAR")
        .get_data(as_text=True)
    )
    assert 'data-app="Calendar"' in html
    assert 'data-app="Mailbox sync"' not in html


def test_marketplace_search_xero_shows_plugin_card(app):
    html = (
        client_as(app, "admin@acme.test").get("/settings/marketplace?q=xero").get_data(as_text=True)
    )
    assert 'data-testid="marketplace-card"' in html
    assert 'data-testid="app-card"' not in html


def test_marketplace_search_no_match_shows_empty_state(app):
    html = (
        client_as(app, "admin@acme.test")
        .get("/settings/marketplace?q=zzzz-nothing")
        .get_data(as_text=True)
    )
    assert 'data-testid="marketplace-empty"' in html
    assert 'data-testid="marketplace-card"' not in html


# -- configuration ---------------------------------------------------------------------------


def test_create_app_copies_xero_panel_env_vars_as_strings(tmp_path, seed, monkeypatch):
    monkeypatch.setenv("XERO_PANEL_CACHE_TTL", "2")
    app = demo_app.create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db"}, seed=seed)
    assert app.config["XERO_PANEL_CACHE_TTL"] == "2"


def test_create_app_config_wins_over_env(tmp_path, seed, monkeypatch):
    monkeypatch.setenv("XERO_PANEL_CACHE_TTL", "2")
    app = demo_app.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db", "XERO_PANEL_CACHE_TTL": 5},
        seed=seed,
    )
    assert app.config["XERO_PANEL_CACHE_TTL"] == 5


def test_create_app_emulator_url_points_plugin_at_emulator(tmp_path, seed):
    app = demo_app.create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/e.db"},
        seed=seed,
        emulator_url="http://127.0.0.1:5999/",
    )
    for key in ("XERO_PANEL_LOGIN_URL", "XERO_PANEL_IDENTITY_URL", "XERO_PANEL_API_URL"):
        assert app.config[key] == "http://127.0.0.1:5999"


def test_create_app_webhook_route_not_csrf_protected(app):
    prefix = app.config["XERO_PANEL_URL_PREFIX"]
    response = app.test_client().post(f"{prefix}/webhooks", data=b"{}")
    assert "CSRF" not in response.get_data(as_text=True)


def test_static_stylesheet_served(client):
    response = client.get("/static/demo.css")
    assert response.status_code == 200
    assert "system-ui" in response.get_data(as_text=True)
    response.close()


def test_favicon_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    response.close()


# -- database rebuild ------------------------------------------------------------------------


def count_all(app):
    with app.app_context():
        return {
            model.__name__: demo_app.db.session.scalar(select(func.count()).select_from(model))
            for model in (
                demo_app.CrmAccount,
                demo_app.User,
                demo_app.Account,
                demo_app.Contact,
                demo_app.Deal,
            )
        }


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


# -- the command line ------------------------------------------------------------------------


def test_arg_parser_accepts_contract_flags():
    args = demo_app.build_arg_parser().parse_args(
        [
            "--host",
            "localhost",
            "--port",
            "5001",
            "--xero-seed",
            "seed.json",
            "--emulator-port",
            "5056",
            "--database-url",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ]
    )
    assert (args.host, args.port, args.xero_seed, args.emulator_port, args.database_url) == (
        "localhost",
        5001,
        "seed.json",
        5056,
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    )


def test_arg_parser_defaults():
    args = demo_app.build_arg_parser().parse_args([])
    assert (args.host, args.port, args.xero_seed, args.emulator_port, args.database_url) == (
        "127.0.0.1",
        5000,
        None,
        5055,
        None,
    )


def test_import_has_no_side_effects(tmp_path):
    code = "import demo_app, os; print(sorted(os.listdir('.')))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def wait_until_up(url, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            requests.get(url, timeout=2).close()
            return True
        except requests.ConnectionError:
            time.sleep(0.2)
    return False


def test_cli_serves_crm_and_emulator(tmp_path):
    port, emulator_port = free_port(), free_port()
    out = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "demo_app.py"),
            "--port",
            str(port),
            "--emulator-port",
            str(emulator_port),
            "--xero-seed",
            str(SEED_FILE),
            "--database-url",
            f"sqlite:///{tmp_path}/cli.db",
        ],
        cwd=tmp_path,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    crm = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        up = wait_until_up(f"{crm}/login", proc, deadline) and wait_until_up(
            f"http://127.0.0.1:{emulator_port}/", proc, deadline
        )
        assert up, (tmp_path / "demo.log").read_text()
        with requests.Session() as session:
            page = session.get(f"{crm}/login", timeout=10).text
            token = CSRF_RE.search(page).group(1)
            session.post(
                f"{crm}/login",
                data={"email": "admin@acme.test", "password": "demo", "csrf_token": token},
                timeout=10,
            )
            response = session.get(f"{crm}/contacts/1", timeout=10)
        assert response.status_code == 200
        assert "data-xero-panel" in response.text
        log = (tmp_path / "demo.log").read_text()
        assert crm in log and f"127.0.0.1:{emulator_port}" in log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        out.close()
