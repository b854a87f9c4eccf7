"""The host app seeded for the panel's tests over HTTP, and readers of the panel's HTML.

The ``seeded`` fixture (tests/conftest.py) builds :class:`Seeded` with the wall clock stopped
at :data:`tests.clock.RUN_START`; every date here is counted from :data:`tests.clock.TODAY`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import TYPE_CHECKING, Any

from flask_wtf.csrf import generate_csrf

from tests.clock import RUN_START, TODAY
from tests.panel_fixtures import Cache
from xero_panel.state import get_state
from xero_panel.sync.scheduling import CacheOnlyScheduler as CacheOnly

if TYPE_CHECKING:
    from tests.conftest import HostApp

HX = {"HX-Request": "true"}
PANEL = "/integrations/xero/panel"


class Seeded:
    """The host app with Acme connected to one organisation whose customer matches the
    host's contact 1, account 1 and deal 1."""

    def __init__(self, host: HostApp) -> None:
        self.host = host
        host.app.add_template_global(generate_csrf, "csrf_token")
        # The cache as it stands, no Xero calls (tests that need more set their own).
        get_state(host.app).scheduler = CacheOnly()
        with host.app.app_context():
            cache = Cache(host.db.session, today=TODAY)
            connection = cache.connection("acme")
            self.connection_id = connection.id
            org = cache.organisation(connection, timezone="UTC")
            self.org_id = org.id
            cache.synced(org, RUN_START - dt.timedelta(minutes=2))
            customer = cache.contact(
                org, "Barney Rubble-83203", email="kat.warren@clampett.com", contact_id="c-1"
            )
            self.contact_id = customer.contact_id
            self.ids: dict[str, str] = {}
            day = dt.timedelta(days=1)
            for number, kw in {
                "INV-0001": {"total": "100.00", "payments": [(TODAY - 9 * day, "100.00")]},
                "INV-0002": {
                    "total": "300.00",
                    "payments": [(TODAY - 20 * day, "100.00"), (TODAY - 10 * day, "100.00")],
                },
                "INV-0003": {"total": "50.00", "due": TODAY - 5 * day},
                "INV-0004": {"total": "75.25", "due": TODAY, "currency": "USD"},
                "INV-<b>5": {"total": "10.00", "due": TODAY + 30 * day},
            }.items():
                invoice = cache.invoice(org, customer, number=number, date=TODAY - 30 * day, **kw)
                self.ids[number] = invoice.xero_id
            self.ids["CN-0001"] = cache.credit_note(
                org, customer, number="CN-0001", date=TODAY - 40 * day
            ).xero_id
            cache.invoice(org, customer, number="DRAFT-1", status="DRAFT")
            cache.invoice(org, customer, number="BILL-1", xero_type="ACCPAY")
            host.db.session.commit()

    def get(self, path: str = "/contact/1", user: str = "rep-acme", **headers: str) -> Any:
        return self.host.client(user).get(PANEL + path, headers={**HX, **headers})

    def html(self, path: str = "/contact/1", user: str = "rep-acme") -> str:
        response = self.get(path, user)
        assert response.status_code == 200, response.get_data(as_text=True)
        return str(response.get_data(as_text=True))


def rows(page: str) -> list[dict[str, str]]:
    out = []
    for tag in re.findall(r'<tr[^>]*data-testid="invoice-row"[^>]*>', page):
        out.append({k: html.unescape(v) for k, v in re.findall(r'(data-[\w-]+)="([^"]*)"', tag)})
    return out


def numbers(page: str) -> list[str]:
    return [r["data-invoice-number"] for r in rows(page)]


def by_testid(page: str, name: str) -> list[str]:
    return re.findall(rf'<[^>]*data-testid="{name}"[^>]*>', page)


def error_text(response: Any) -> str:
    found = re.search(r'data-testid="panel-error"[^>]*>([^<]*)<', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return html.unescape(found.group(1))


def token_of(client: Any, path: str = "/contact/1") -> str:
    page = client.get(PANEL + path, headers=HX).get_data(as_text=True)
    found = re.search(r"hx-headers='([^']*)'", page)
    assert found
    return str(json.loads(html.unescape(found.group(1)))["X-CSRFToken"])
