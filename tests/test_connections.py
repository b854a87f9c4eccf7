from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import func, select

from tests.conftest import HostApp
from xero_panel.connections import id_token_claims
from xero_panel.models import Connection, Invoice, Organisation
from xero_panel.state import get_state
from xero_panel.sync.scheduling import CacheOnlyScheduler

#: Xero's example bodies from its OpenAPI spec (https://github.com/XeroAPI/Xero-OpenAPI).
EXAMPLES = Path(__file__).parent / "fixtures" / "xero-examples"
API = "https://api.xero.com"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


TOKEN = {
    "access_token": "access-secret-123",
    "refresh_token": "refresh-secret-456",
    "expires_in": 1800,
    "token_type": "Bearer",
    "scope": "openid profile email offline_access accounting.invoices.read",
    "id_token": jwt(
        {
            "email": "owner@kiwi-garden.test",
            "given_name": "Ana",
            "family_name": "Ngata",
            "xero_userid": "user-1",
        }
    ),
}


class RecordingSync(CacheOnlyScheduler):
    """Records which organisations were asked to start their first sync."""

    def __init__(self) -> None:
        self.started: list[int] = []

    def start_full_sync(self, organisation_id: int) -> bool:
        self.started.append(organisation_id)
        return True


@pytest.fixture
def host(make_host: Any, tmp_path: Any) -> HostApp:
    host = make_host(f"sqlite:///{tmp_path}/c.db")
    host.app.extensions["xero_panel"].scheduler = RecordingSync()
    return host


@pytest.fixture
def xero() -> Any:
    with responses.RequestsMock() as mock:
        mock.get(f"{API}/connections", json=example("connections.json"))
        mock.get(f"{API}/api.xro/2.0/Organisation", json=example("organisation.json"))
        yield mock


def test_store_connection_encrypts_token_at_rest(host: HostApp, xero: Any) -> None:
    with host.app.app_context():
        host.panel.store_connection("acme", TOKEN)
        row = host.db.session.scalars(select(Connection)).one()
        assert "access-secret-123" not in row.token_ciphertext
        assert "refresh-secret-456" not in row.token_ciphertext
        stored = get_state().cipher.decrypt(row.token_ciphertext)
        assert stored["refresh_token"] == "refresh-secret-456"


def test_store_connection_records_who_connected(host: HostApp, xero: Any) -> None:
    with host.app.app_context():
        connection = host.panel.store_connection("acme", TOKEN)
        assert connection.connected_by_email == "owner@kiwi-garden.test"
        assert connection.connected_by_name == "Ana Ngata"
        assert connection.status == "active"


#: What the connection and the example Organisation answer say about the demo company.
DEMO_ORGANISATION = {
    "tenant_id": "fe79f7dd-b6d4-4a92-ba7b-538af6289c58",
    "xero_connection_id": "7cb59f93-2964-421d-bb5e-a0f7a4572a44",
    "short_code": "!mBdtL",
    "timezone": "Pacific/Auckland",
    "base_currency": "NZD",
    "country_code": "NZ",
}


def test_store_connection_saves_organisation_details(host: HostApp, xero: Any) -> None:
    with host.app.app_context():
        host.panel.store_connection("acme", TOKEN)
        organisation = host.db.session.scalars(select(Organisation)).one()
        saved = {name: getattr(organisation, name) for name in DEMO_ORGANISATION}
    assert saved == DEMO_ORGANISATION
    assert xero.calls[1].request.headers["xero-tenant-id"] == "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
    assert xero.calls[1].request.headers["Authorization"] == "Bearer access-secret-123"


def test_store_connection_unchosen_tenant_kept_but_not_selected(host: HostApp) -> None:
    with responses.RequestsMock() as mock, host.app.app_context():
        mock.get(f"{API}/connections", json=example("connections.json"))
        host.panel.store_connection("acme", TOKEN, tenant_ids=[])
        organisation = host.db.session.scalars(select(Organisation)).one()
        assert organisation.selected is False
        # No /Organisation call for an unused tenant. Only calls to Xero's API count: a timer
        # an earlier test left (a webhook retry) may call its own emulator meanwhile, and
        # responses, patching requests for the whole process, records that call too.
        ours = [c.request.url for c in mock.calls if c.request.url.startswith(API)]
        assert ours == [f"{API}/connections"]


def test_store_connection_pending_until_saved(host: HostApp, xero: Any) -> None:
    with host.app.app_context():
        connection = host.panel.store_connection("acme", TOKEN, activate=False)
        assert (connection.status, connection.activated_at) == ("pending", None)


def test_store_connection_drops_tenant_disconnected_in_xero(host: HostApp, xero: Any) -> None:
    with host.app.app_context():
        session = host.db.session
        host.panel.store_connection("acme", TOKEN)
        organisation = session.scalars(select(Organisation)).one()
        session.add(
            Invoice(
                organisation_id=organisation.id,
                xero_id="i",
                xero_type="ACCREC",
                contact_id="c",
                status="PAID",
                date=dt.date(2026, 1, 1),
                currency="NZD",
                total=Decimal(1),
                balance=Decimal(0),
            )
        )
        session.commit()
        xero.replace(responses.GET, f"{API}/connections", json=[])
        host.panel.store_connection("acme", TOKEN)
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_store_connection_token_never_logged(
    host: HostApp, xero: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    with host.app.app_context():
        host.panel.store_connection("acme", TOKEN)
    assert "secret" not in caplog.text


@pytest.mark.parametrize("value", [None, "", "garbage", "a.!!!.c"])
def test_id_token_claims_bad_token_gives_nothing(value: str | None) -> None:
    assert id_token_claims(value) == {}


def test_store_connection_active_starts_first_sync(host: HostApp, xero: Any) -> None:
    with host.app.app_context():
        host.panel.store_connection("acme", TOKEN)
        organisation = host.db.session.scalars(select(Organisation)).one()
    assert host.app.extensions["xero_panel"].scheduler.started == [organisation.id]


def test_store_connection_pending_starts_no_sync(host: HostApp, xero: Any) -> None:
    with host.app.app_context():
        host.panel.store_connection("acme", TOKEN, activate=False)
    assert host.app.extensions["xero_panel"].scheduler.started == []
