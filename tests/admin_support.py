"""The admin's steps against the emulator over HTTP, with Flask test clients: connect
(consent at Xero), save, test the connection, and wait for the background jobs (the first
sync) to end."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.xero_flow import csrf_from, grant_at_xero, path_of
from xero_panel.state import get_state
from xero_panel.sync.runners import ThreadRunner

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


def wait_for_background_jobs(app: Flask, timeout: float = 30.0) -> None:
    """Wait until every background job ``app`` has started (the first sync after Save, a
    Refresh) has ended: the runner's own threads, not a pause in calls to Xero, which a
    busy machine can stretch."""
    runner = getattr(get_state(app).scheduler, "runner", None)
    assert isinstance(runner, ThreadRunner), f"jobs do not run in threads here: {runner!r}"
    assert runner.wait_idle(timeout), f"background jobs still running after {timeout} s"


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


def connect_and_save(client: Any, seed: dict[str, Any]) -> None:
    """Connect the first organisation, save it, and let its first sync finish."""
    connect(client, tenants=[tenants(seed)[0]])
    save(client, [tenants(seed)[0]])
    wait_for_background_jobs(client.application)
