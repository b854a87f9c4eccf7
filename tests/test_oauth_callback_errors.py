"""The OAuth callback's ``error``: handled only with the ``state`` of this browser's connect
request, shown from a fixed list of messages (never the ``error``/``error_description``
text), and no run of callbacks grows the session cookie past what browsers keep."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.conftest import HostApp
from tests.xero_flow import csrf_from

SETTINGS = "/integrations/xero/settings"
CALLBACK = "/integrations/xero/callback"
HOSTILE = "Call 0800-SCAM now <script>alert(1)</script>"
#: Browsers keep cookies of up to 4096 bytes, name and value together.
COOKIE_LIMIT = 4096


@pytest.fixture
def admin_host(make_host: Any, tmp_path: Any) -> HostApp:
    return make_host(f"sqlite:///{tmp_path}/cb.db", sync=False)


def start_connect(client: Any) -> str:
    page = client.get(SETTINGS)
    response = client.post("/integrations/xero/connect", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def back(client: Any, **params: str) -> Any:
    return client.get(f"{CALLBACK}?{urlencode(params)}")


def test_error_without_state_is_refused_and_shows_nothing(admin_host: HostApp) -> None:
    client = admin_host.client("admin-acme")
    start_connect(client)
    response = back(client, error="access_denied", error_description=HOSTILE)
    assert response.status_code == 400
    assert "does not match a connect request" in response.text
    assert "cancelled" not in client.get(SETTINGS).text


def test_error_with_wrong_state_is_refused(admin_host: HostApp) -> None:
    client = admin_host.client("admin-acme")
    start_connect(client)
    response = back(client, error="access_denied", state="forged")
    assert response.status_code == 400
    assert "cancelled" not in client.get(SETTINGS).text


def test_error_without_a_connect_request_is_refused(admin_host: HostApp) -> None:
    response = back(admin_host.client("admin-acme"), error="server_error", state="x")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        ("access_denied", "Connecting to Xero was cancelled on Xero&#39;s page"),
        ("invalid_scope", "Xero refused the permissions the panel asks for"),
        ("unauthorized_client", "Xero refused this app&#39;s sign-in request"),
        ("server_error", "Xero could not finish the sign-in; try again in a few minutes."),
        ("temporarily_unavailable", "Xero could not finish the sign-in"),
        (HOSTILE, "Xero did not connect; nothing was changed."),
    ],
)
def test_error_with_state_shows_a_fixed_message(
    admin_host: HostApp, error: str, shown: str
) -> None:
    client = admin_host.client("admin-acme")
    state = start_connect(client)
    response = back(client, error=error, error_description=HOSTILE, state=state)
    assert response.status_code == 302
    page = client.get(SETTINGS).text
    assert shown in page
    assert "SCAM" not in page and "alert(1)" not in page


def session_cookie_size(client: Any, host: HostApp) -> int:
    name = host.app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    assert cookie is not None
    return len(name) + 1 + len(cookie.value)


def test_callbacks_never_grow_the_session_cookie_past_4_kb(admin_host: HostApp) -> None:
    client = admin_host.client("admin-acme")
    for _ in range(30):
        # random text: Flask compresses the session, so repeated letters would hide growth
        state = start_connect(client)
        back(client, error=secrets.token_urlsafe(1500), error_description="y", state=state)
        back(client, error=secrets.token_urlsafe(1500), state=secrets.token_urlsafe(1500))
        assert session_cookie_size(client, admin_host) < COOKIE_LIMIT
    page = client.get(SETTINGS).text
    assert page.count("Xero did not connect; nothing was changed.") <= 4
