from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import HostApp
from xero_panel.models import Connection

HX = {"HX-Request": "true"}
PANEL = "/integrations/xero/panel"


def connect(host: HostApp, crm_account: str, status: str = "active") -> None:
    with host.app.app_context():
        host.db.session.add(
            Connection(crm_account=crm_account, status=status, activated_at=dt.datetime.now(dt.UTC))
        )
        host.db.session.commit()


def test_panel_htmx_request_gets_partial(host: HostApp) -> None:
    response = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<section")
    assert "<html" not in html
    assert 'data-xero-panel data-record-type="contact" data-record-id="1"' in html


def test_panel_plain_request_gets_whole_page(host: HostApp) -> None:
    response = host.client("rep-acme").get(f"{PANEL}/contact/1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in html
    assert 'data-xero-panel data-record-type="contact"' in html
    assert "xero_panel/htmx.min.js" in html


def test_panel_varies_on_hx_request(host: HostApp) -> None:
    response = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX)
    assert "HX-Request" in response.headers["Vary"]


def test_panel_logged_out_page_redirects_to_login(host: HostApp) -> None:
    response = host.client().get(f"{PANEL}/contact/1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_panel_logged_out_htmx_gets_401_message(host: HostApp) -> None:
    response = host.client().get(f"{PANEL}/contact/1", headers=HX)
    assert response.status_code == 401
    assert 'data-testid="panel-error"' in response.get_data(as_text=True)
    assert "Sign in again" in response.get_data(as_text=True)


def test_panel_calls_record_loader_with_type_and_id(host: HostApp) -> None:
    host.client("rep-acme").get(f"{PANEL}/deal/1", headers=HX)
    assert host.loader_calls == [("deal", "1")]


def test_panel_record_of_other_crm_account_is_404(host: HostApp) -> None:
    response = host.client("admin-globex").get(f"{PANEL}/contact/1", headers=HX)
    assert response.status_code == 404
    assert "does not exist, or you may not see it" in response.get_data(as_text=True)


def test_panel_unknown_record_type_is_404_with_message(host: HostApp) -> None:
    response = host.client("rep-acme").get(f"{PANEL}/invoice/1", headers=HX)
    assert response.status_code == 404
    assert "Unknown record type &#39;invoice&#39;" in response.get_data(as_text=True)
    assert host.loader_calls == []


def test_panel_no_crm_account_is_403(host: HostApp) -> None:
    host.panel.account_resolver(lambda: None)
    response = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX)
    assert response.status_code == 403


def test_panel_not_connected_admin_gets_connect_link(host: HostApp) -> None:
    html = host.client("admin-acme").get(f"{PANEL}/contact/1", headers=HX).get_data(as_text=True)
    assert 'href="/integrations/xero/settings"' in html
    assert "Connect Xero" in html


def test_panel_not_connected_rep_gets_neutral_line(host: HostApp) -> None:
    html = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX).get_data(as_text=True)
    assert "not available for this CRM account" in html
    assert "/settings" not in html


def test_panel_pending_connection_counts_as_not_connected(host: HostApp) -> None:
    connect(host, "acme", status="pending")
    html = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX).get_data(as_text=True)
    assert "not available for this CRM account" in html


def test_panel_needs_reconnect_rep_sees_calm_notice(host: HostApp) -> None:
    connect(host, "acme", status="needs_reconnect")
    response = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-reason="needs-reconnect"' in page and "until an admin reconnects Xero" in page
    assert page.count('data-testid="panel-notice"') == 1


def test_panel_connection_of_other_account_not_used(host: HostApp) -> None:
    connect(host, "globex")
    html = host.client("rep-acme").get(f"{PANEL}/contact/1", headers=HX).get_data(as_text=True)
    assert "not available for this CRM account" in html


@pytest.mark.parametrize(("user", "status"), [("rep-acme", 403), ("admin-acme", 200)])
def test_settings_page_admins_only(host: HostApp, user: str, status: int) -> None:
    assert host.client(user).get("/integrations/xero/settings").status_code == status


def test_settings_page_logged_out_redirects_to_login(host: HostApp) -> None:
    response = host.client().get("/integrations/xero/settings")
    assert response.status_code == 302


def test_panel_whole_page_loads_panel_script(host: HostApp) -> None:
    html = host.client("rep-acme").get(f"{PANEL}/contact/1").get_data(as_text=True)
    assert html.count("xero_panel/panel.js") == 1
