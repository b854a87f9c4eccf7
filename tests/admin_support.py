"""The admin's steps against the emulator over HTTP, with Flask test clients: connect
(consent at Xero), save, test the connection, and wait for the first sync to stop."""

from __future__ import annotations

import time
from typing import Any

from tests.xero_flow import csrf_from, grant_at_xero, path_of

SETTINGS = "/integrations/xero/settings"
KIWI_PASSWORD = "kiwi-demo"


def tenants(seed: dict[str, Any]) -> list[str]:
    return [t["tenantId"] for t in seed["tenants"]]


def start_connect(client: Any) -> str:
    page = client.get(SETTINGS)
    response = client.post("/integrations/xero/connect", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 302
    return str(response.headers["Location"])


def connect(client: Any, *, tenants: list[str] | None = None, action: str = "allow") -> Any:
    authorize = start_connect(client)
    back = grant_at_xero(authorize, password=KIWI_PASSWORD, tenants=tenants, action=action)
    return client.get(path_of(back), follow_redirects=True)


def wait_until_quiet(xero: Any, quiet_for: float = 0.5, timeout: float = 20.0) -> None:
    """Wait until background work (the first sync after Save) stops calling the emulator."""
    deadline = time.monotonic() + timeout
    last, since = xero.stats(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = xero.stats()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return
    raise AssertionError("the emulator kept being called")


def save(client: Any, tenant_ids: list[str]) -> Any:
    token = csrf_from(client.get(SETTINGS).text)
    return client.post(
        "/integrations/xero/save",
        data={"csrf_token": token, "tenant": tenant_ids},
        follow_redirects=True,
    )


def press_test_connection(client: Any) -> Any:
    token = csrf_from(client.get(SETTINGS).text)
    return client.post("/integrations/xero/test", data={"csrf_token": token}, follow_redirects=True)


def connect_and_save(client: Any, seed: dict[str, Any], xero: Any) -> None:
    """Connect the first organisation, save it, and let its first sync finish."""
    connect(client, tenants=[tenants(seed)[0]])
    save(client, [tenants(seed)[0]])
    wait_until_quiet(xero)
