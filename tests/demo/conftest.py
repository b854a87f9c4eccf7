"""The demo CRM's tests: fixtures and helpers (the demo app on a SQLite file per test)."""

from __future__ import annotations

import contextlib
import importlib
import json
import re
import socket
import sys
from pathlib import Path

import pytest
from flask_login import FlaskLoginClient, login_user
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]
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


def html_as(app, email, path):
    """The page at ``path`` as ``email`` sees it."""
    return client_as(app, email).get(path).get_data(as_text=True)


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


@contextlib.contextmanager
def hook_context(app, email):
    """A request context in which ``email`` is signed in, for calling the plugin's hooks."""
    with app.test_request_context("/"):
        user = demo_app.db.session.scalar(select(demo_app.User).where(demo_app.User.email == email))
        login_user(user)
        yield


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
