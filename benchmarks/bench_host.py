"""The host CRM the benchmarks run the panel in, and the reference page it is compared with.

``create_app()`` reads its settings from ``BENCH_*`` environment variables, so gunicorn can
load it (``gunicorn 'bench_host:create_app()'``); the benchmarks call it with arguments.

- ``GET /login/<user_id>``: signs a user in (Flask-Login session cookie).
- The panel: ``GET /integrations/xero/panel/account/big?view=all``, for an account named like
  the customer with many invoices.
- ``GET /reference/big``: an ordinary authenticated, database-backed page: the signed-in user
  (loaded from the database by Flask-Login), the customer's 25 newest invoices with their
  payments from the same cache tables, through a Jinja template compiled once.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, abort, redirect
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column, selectinload

from xero_panel import CRMRecord, XeroPanel
from xero_panel.models import Invoice, XeroContact

PANEL_PATH = "/integrations/xero/panel/account/big"
REFERENCE_PATH = "/reference/big"
USER_ID = "rep"

_REFERENCE = """<section class="invoices">
<h2>{{ user.email }}: {{ customer }}</h2>
<table>
<thead><tr><th>Number</th><th>Date</th><th>Due</th><th>Status</th><th>Total</th>
<th>Balance</th><th>Payments</th></tr></thead>
<tbody>
{%- for invoice in invoices %}
<tr class="{{ invoice.status | lower }}"><td>{{ invoice.number }}</td>
<td>{{ invoice.date.isoformat() }}</td>
<td>{{ invoice.due_date.isoformat() if invoice.due_date else "" }}</td>
<td>{{ invoice.status }}</td><td>{{ invoice.currency }} {{ invoice.total }}</td>
<td>{{ invoice.balance }}</td>
<td>{% for p in invoice.payments -%}
{{ p.date.isoformat() }} {{ p.amount }}{% if not loop.last %}, {% endif %}
{%- endfor %}</td></tr>
{%- endfor %}
</tbody></table></section>
"""


def create_app(
    database_url: str | None = None,
    emulator_url: str | None = None,
    *,
    customer: str | None = None,
    secret_key: str | None = None,
    encryption_key: str | None = None,
) -> Flask:
    """The bench host app (arguments default to the ``BENCH_*`` environment variables)."""
    env = os.environ
    app = Flask("bench_host")
    emulator_url = emulator_url or env["BENCH_EMULATOR_URL"]
    customer_name = customer or env.get("BENCH_CUSTOMER", "Customer 000000 Ltd")
    app.config.update(
        SECRET_KEY=secret_key or env.get("BENCH_SECRET_KEY", "bench-secret"),
        SQLALCHEMY_DATABASE_URI=database_url or env["BENCH_DATABASE_URL"],
        XERO_PANEL_CLIENT_ID="bench-client",
        XERO_PANEL_CLIENT_SECRET="bench-secret",
        XERO_PANEL_ENCRYPTION_KEYS=encryption_key or env["BENCH_ENCRYPTION_KEY"],
        XERO_PANEL_API_URL=emulator_url,
        XERO_PANEL_IDENTITY_URL=emulator_url,
        XERO_PANEL_LOGIN_URL=emulator_url,
        # Warm: the cache stays fresh for the whole run, so a view makes no Xero call.
        XERO_PANEL_CACHE_TTL=3600,
        # "miss": the cache on, but no lookup ever finds a panel (every view renders and
        # keeps its panel: what a view after a change costs).
        XERO_PANEL_FRAGMENT_CACHE=env.get("BENCH_FRAGMENT_CACHE", "on") != "off",
        XERO_PANEL_SYNC_WAIT=30,
    )
    db = SQLAlchemy()

    class BenchUser(db.Model, UserMixin):  # type: ignore[name-defined,misc]
        __tablename__ = "bench_user"
        id: Mapped[str] = mapped_column(String(32), primary_key=True)
        email: Mapped[str] = mapped_column(String(255))
        crm_account: Mapped[str] = mapped_column(String(64))

    db.init_app(app)
    login = LoginManager(app)

    @login.user_loader
    def load_user(user_id: str) -> Any:
        return db.session.get(BenchUser, user_id)

    panel = XeroPanel(db=db)

    @panel.record_loader
    def record(record_type: str, record_id: str) -> CRMRecord | None:
        if (record_type, record_id) == ("account", "big"):
            return CRMRecord(customer_name)
        return None

    @panel.account_resolver
    def account() -> str | None:
        return current_user.crm_account if current_user.is_authenticated else None

    @panel.admin_check
    def admin() -> bool:
        return False

    panel.init_app(app)
    if env.get("BENCH_FRAGMENT_CACHE") == "miss":
        from xero_panel.state import get_state

        fragments = get_state(app).backends.fragments
        fragments.get = lambda key: None  # type: ignore[method-assign]
    template = app.jinja_env.from_string(_REFERENCE)

    @app.get("/login/<user_id>")
    def sign_in(user_id: str) -> Any:
        user = db.session.get(BenchUser, user_id)
        if user is None:
            abort(404)
        login_user(user)
        return redirect(REFERENCE_PATH)

    @app.get(REFERENCE_PATH)
    @login_required
    def reference() -> str:
        contact = db.session.scalars(
            select(XeroContact).where(XeroContact.name == customer_name).limit(1)
        ).first()
        if contact is None:
            abort(404)
        invoices = db.session.scalars(
            select(Invoice)
            .where(
                Invoice.organisation_id == contact.organisation_id,
                Invoice.contact_id == contact.contact_id,
                Invoice.status.in_(("AUTHORISED", "PAID")),
            )
            .order_by(Invoice.date.desc(), Invoice.number.desc(), Invoice.id.desc())
            .limit(25)
            .options(selectinload(Invoice.payments))
        ).all()
        return template.render(user=current_user, customer=contact.name, invoices=invoices)

    with app.app_context():
        db.create_all()
        if db.session.get(BenchUser, USER_ID) is None:
            db.session.add(BenchUser(id=USER_ID, email="rep@acme.test", crm_account="acme"))
            db.session.commit()
    app.extensions["bench_db"] = db
    app.extensions["bench_panel"] = panel
    return app


class DropJobs:
    """A background runner that runs nothing."""

    def submit(self, job: str, *args: Any) -> None:
        pass


def connect(app: Flask, tokens: dict[str, Any]) -> int:
    """Store the organisation's connection for the CRM account ``acme`` the way *Save*
    does, minus the first sync that *Save* queues (the benchmark runs and times that one
    itself). Returns the organisation's id."""
    from xero_panel.state import get_state

    panel: XeroPanel = app.extensions["bench_panel"]
    scheduler: Any = get_state(app).scheduler
    runner, scheduler.runner = scheduler.runner, DropJobs()
    try:
        with app.app_context():
            connection = panel.store_connection("acme", tokens)
            return int(connection.organisations[0].id)
    finally:
        scheduler.runner = runner
