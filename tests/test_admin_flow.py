"""The admin's whole path against the emulator over HTTP: connect, consent, choose
organisations, save, test, remove, and the ways it can go wrong."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from xero_emulator import DEMO_CLIENT_ID, sample_seed

from tests.admin_support import (
    KIWI_PASSWORD,
    SETTINGS,
    connect,
    connect_and_save,
    press_test_connection,
    save,
    start_connect,
    tenants,
    wait_for_background_jobs,
)
from tests.clock import Clock
from tests.conftest import HostApp
from tests.emulator.helpers import control
from tests.xero_flow import csrf_from, emulator_settings, grant_at_xero, path_of, serving
from xero_panel.models import Connection, Organisation, Pin, SyncState
from xero_panel.web.admin_common import WATCH_FOR


@pytest.fixture(scope="module")
def seed() -> dict[str, Any]:
    return sample_seed()


@pytest.fixture
def xero(seed: dict[str, Any]) -> Iterator[Any]:
    with serving(seed) as emulator:
        yield emulator


@pytest.fixture
def connected_host(make_host: Any, tmp_path: Any, xero: Any) -> Iterator[HostApp]:
    host = make_host(f"sqlite:///{tmp_path}/admin.db", **emulator_settings(xero))
    yield host
    wait_for_background_jobs(host.app)  # a sync Save started ends before its tables go


@pytest.fixture
def admin(connected_host: HostApp, seed: dict[str, Any], xero: Any) -> Any:
    """Acme's admin, signed in, with Xero connected and saved."""
    client = connected_host.client("admin-acme")
    connect_and_save(client, seed)
    return client


def test_connect_redirects_to_xero_with_state_and_pkce(connected_host: HostApp, xero: Any) -> None:
    location = start_connect(connected_host.client("admin-acme"))
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{xero.url}/identity/connect/authorize?")
    assert query["client_id"] == [DEMO_CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/integrations/xero/callback"]
    assert "accounting.invoices.read" in query["scope"][0].split()
    assert "accounting.transactions" not in query["scope"][0].split()


def test_connect_flow_shows_organisation_and_email_then_save_activates(
    connected_host: HostApp, seed: dict[str, Any]
) -> None:
    client = connected_host.client("admin-acme")
    page = connect(client, tenants=[tenants(seed)[0]])
    assert "Choose the organisations to use, then press Save." in page.text
    assert "Kiwi Garden Supplies Ltd" in page.text
    assert "owner@kiwi-garden.test" in page.text
    assert 'data-status="pending"' in page.text
    page = save(client, [tenants(seed)[0]])
    assert 'data-status="active"' in page.text
    assert (
        "Saved: the panel uses Kiwi Garden Supplies Ltd. The first sync with Xero has started"
        in page.text
    )


def test_connect_two_organisations_admin_chooses_one(
    connected_host: HostApp, seed: dict[str, Any]
) -> None:
    client = connected_host.client("admin-acme")
    connect(client, tenants=tenants(seed)[:2])
    save(client, [tenants(seed)[1]])
    with connected_host.app.app_context():
        rows = connected_host.db.session.scalars(select(Organisation).order_by(Organisation.name))
        assert [(o.name, o.selected) for o in rows] == [
            ("Kiwi Garden Australia Pty Ltd", True),
            ("Kiwi Garden Supplies Ltd", False),
        ]


def test_save_without_organisation_is_400_with_message(
    connected_host: HostApp, seed: dict[str, Any]
) -> None:
    client = connected_host.client("admin-acme")
    connect(client, tenants=tenants(seed)[:2])
    response = save(client, [])
    assert response.status_code == 400
    assert "Choose at least one Xero organisation, then press Save." in response.text


def test_cancel_on_consent_page_changes_nothing(connected_host: HostApp) -> None:
    client = connected_host.client("admin-acme")
    page = connect(client, action="cancel")
    assert "Connecting to Xero was cancelled on Xero&#39;s page; nothing was changed." in page.text
    with connected_host.app.app_context():
        assert connected_host.db.session.scalar(select(func.count()).select_from(Connection)) == 0


def test_callback_with_wrong_state_refused(connected_host: HostApp) -> None:
    client = connected_host.client("admin-acme")
    authorize = start_connect(client)
    back = grant_at_xero(authorize, password=KIWI_PASSWORD)
    forged = path_of(back).replace("state=", "state=forged")
    response = client.get(forged)
    assert response.status_code == 400
    assert "does not match a connect request from this browser" in response.text


def test_callback_replayed_refused(connected_host: HostApp) -> None:
    client = connected_host.client("admin-acme")
    authorize = start_connect(client)
    back = path_of(grant_at_xero(authorize, password=KIWI_PASSWORD))
    assert client.get(back).status_code == 302
    replay = client.get(back)
    assert replay.status_code == 400
    assert "already used, or it expired" in replay.text


def test_callback_from_other_crm_account_session_refused(connected_host: HostApp) -> None:
    acme = connected_host.client("admin-acme")
    back = path_of(grant_at_xero(start_connect(acme), password=KIWI_PASSWORD))
    assert connected_host.client("admin-globex").get(back).status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", SETTINGS),
        ("post", "/integrations/xero/connect"),
        ("get", "/integrations/xero/callback?code=x&state=y"),
        ("post", "/integrations/xero/save"),
        ("post", "/integrations/xero/test"),
        ("post", "/integrations/xero/refresh"),
        ("get", "/integrations/xero/remove"),
        ("post", "/integrations/xero/remove"),
    ],
)
def test_admin_routes_forbidden_to_reps(connected_host: HostApp, method: str, path: str) -> None:
    response = getattr(connected_host.client("rep-acme"), method)(path)
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/integrations/xero/connect", "/integrations/xero/remove"])
def test_admin_posts_need_csrf_token(connected_host: HostApp, path: str) -> None:
    response = connected_host.client("admin-acme").post(path, data={})
    assert response.status_code == 400
    assert "Reload the page and try again." in response.text


def test_test_connection_reports_organisation_and_timing(
    admin: Any, seed: dict[str, Any], xero: Any
) -> None:
    xero.reset_stats()
    page = press_test_connection(admin)
    assert "Connection works: Xero answered for Kiwi Garden Supplies Ltd in " in page.text
    assert xero.stats()["tenants"][tenants(seed)[0]]["by_endpoint"] == {"Organisation": 1}


def test_tenant_removed_in_xero_reported_by_test(
    admin: Any, seed: dict[str, Any], xero: Any
) -> None:
    control(xero.url, "faults", {"revoke_tenant": tenants(seed)[0]})
    page = press_test_connection(admin)
    assert page.status_code == 200
    assert (
        "Kiwi Garden Supplies Ltd: the test failed. Xero refused this connection&#39;s tokens."
        in page.text
    )


def test_remove_revokes_at_xero_and_deletes_everything(
    connected_host: HostApp, admin: Any, xero: Any
) -> None:
    with connected_host.app.app_context():
        organisation = connected_host.db.session.scalars(select(Organisation)).one()
        connected_host.db.session.add(
            Pin(
                crm_account="acme",
                record_type="contact",
                record_id="1",
                organisation_id=organisation.id,
                xero_invoice_id="i-1",
            )
        )
        connected_host.db.session.commit()
    confirm = admin.get("/integrations/xero/remove")
    assert "1 pinned invoice" in confirm.text
    page = admin.post(
        "/integrations/xero/remove",
        data={"csrf_token": csrf_from(confirm.text)},
        follow_redirects=True,
    )
    assert "the grant is revoked at Xero and its data deleted here" in page.text
    assert 'data-status="not_connected"' in page.text
    with connected_host.app.app_context():
        session = connected_host.db.session
        for model in (Connection, Organisation, Pin):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    identity = xero.stats()["identity"]["by_endpoint"]
    assert identity.get("revocation") == 1


def test_remove_works_when_xero_unreachable(connected_host: HostApp, admin: Any) -> None:
    confirm = admin.get("/integrations/xero/remove")
    unreachable = "http://127.0.0.1:9"  # the discard port: nothing listens there
    connected_host.app.extensions["xero_panel"].settings = _with(
        connected_host.app.extensions["xero_panel"].settings,
        api_url=unreachable,
        identity_url=unreachable,
    )
    page = admin.post(
        "/integrations/xero/remove",
        data={"csrf_token": csrf_from(confirm.text)},
        follow_redirects=True,
    )
    assert "Xero could not confirm the revocation" in page.text
    with connected_host.app.app_context():
        assert connected_host.db.session.scalar(select(func.count()).select_from(Connection)) == 0


def test_two_crm_accounts_connected_to_different_organisations(
    connected_host: HostApp, seed: dict[str, Any], xero: Any
) -> None:
    acme = connected_host.client("admin-acme")
    connect(acme, tenants=[tenants(seed)[0]])
    save(acme, [tenants(seed)[0]])
    # SQLite has one writer: on a machine busy enough, Acme's first sync could hold it past
    # the 5 s a Save waits for it. What this test checks is who sees what, not that race.
    wait_for_background_jobs(connected_host.app)
    globex = connected_host.client("admin-globex")
    authorize = start_connect(globex)
    back = grant_at_xero(
        authorize,
        email="books@harbour-audio.test",
        password="harbour-demo",
        tenants=[tenants(seed)[2]],
    )
    globex.get(path_of(back))
    save(globex, [tenants(seed)[2]])
    acme_page = acme.get(SETTINGS).text
    globex_page = globex.get(SETTINGS).text
    assert "Kiwi Garden Supplies Ltd" in acme_page and "Harbour Audio Inc" not in acme_page
    assert "Harbour Audio Inc" in globex_page and "Kiwi Garden" not in globex_page
    assert "books@harbour-audio.test" not in acme_page


def _with(settings: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(settings, **changes)


def set_sync_state(host: HostApp, **values: Any) -> None:
    with host.app.app_context():
        session = host.db.session
        organisation = session.scalars(select(Organisation).where(Organisation.selected)).one()
        state = session.get(SyncState, organisation.id) or SyncState(
            organisation_id=organisation.id
        )
        for key, value in values.items():
            setattr(state, key, value)
        session.add(state)
        session.commit()


def test_settings_page_polls_and_shows_progress_while_syncing(
    connected_host: HostApp, admin: Any
) -> None:
    set_sync_state(connected_host, status="running", progress_done=10, progress_total=40)
    page = admin.get(SETTINGS).text
    assert "Syncing: 10 of 40 records" in page
    assert 'hx-trigger="every 2s"' in page


def test_settings_page_stops_polling_when_sync_done(
    clock: Clock, connected_host: HostApp, admin: Any
) -> None:
    clock.advance(seconds=WATCH_FOR + 1)  # past the minute the page follows a Save
    set_sync_state(
        connected_host,
        status="failed",
        last_error="Xero could not be reached.",
        fresh_at=dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC),
    )
    page = admin.get(SETTINGS).text
    assert "Last sync 2026-11-21 09:30 UTC" in page
    assert "Xero could not be reached." in page
    assert "every 2s" not in page
    assert 'data-watching="false"' in page


def test_admin_pages_follow_a_sync_an_admin_started(
    clock: Clock, connected_host: HostApp, admin: Any
) -> None:
    """After Save the integration page said "0 invoices ... Last full sync never" until a
    reload; *Refresh now* promised progress it never showed. The organisations' health now
    reloads itself every 2 s for a minute after an admin starts a sync (and while a first
    sync runs), on the integration and the health page."""
    clock.advance(seconds=WATCH_FOR + 1)
    assert 'data-watching="false"' in admin.get(SETTINGS).text
    token = csrf_from(admin.get(SETTINGS).text)
    page = admin.post(
        "/integrations/xero/refresh", data={"csrf_token": token}, follow_redirects=True
    ).text
    assert "the figures below follow it as it runs" in page
    for url in (SETTINGS, "/integrations/xero/health"):
        followed = admin.get(url).text
        assert 'data-watching="true"' in followed
        assert 'hx-select="#xp-org-health"' in followed and 'hx-trigger="every 2s"' in followed
    clock.advance(seconds=WATCH_FOR + 1)
    assert 'data-watching="false"' in admin.get(SETTINGS).text
