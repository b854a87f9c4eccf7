"""Refreshing stored tokens: once per expiry, under a lock shared by threads, processes and
hosts, with Xero's invalid_grant turning into "needs reconnect"."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, sample_seed

from tests.conftest import REDIS_URL, HostApp, require_service
from tests.xero_flow import serving
from xero_panel.exceptions import AuthExpired, XeroUnavailable
from xero_panel.models import Connection
from xero_panel.oauth import StoredTokens, authorization_request
from xero_panel.state import get_state

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def xero() -> Iterator[Any]:
    with serving(sample_seed()) as emulator:
        yield emulator


def xero_config(xero: Any) -> dict[str, Any]:
    return {
        "XERO_PANEL_CLIENT_ID": DEMO_CLIENT_ID,
        "XERO_PANEL_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "XERO_PANEL_LOGIN_URL": xero.url,
        "XERO_PANEL_IDENTITY_URL": xero.url,
        "XERO_PANEL_API_URL": xero.url,
    }


def connected(make_host: Any, database_url: str, xero: Any, **config: Any) -> HostApp:
    host = make_host(database_url, sync=False, **xero_config(xero), **config)
    token = xero.issue_tokens(client_id=DEMO_CLIENT_ID, user_email="owner@kiwi-garden.test")
    with host.app.app_context():
        host.panel.store_connection("acme", token, tenant_ids=[xero.tenant_ids[0]])
    return host


def expire_stored_token(host: HostApp) -> str:
    """Make the stored access token look expired; return it."""
    with host.app.app_context():
        state = get_state()
        session = host.db.session
        connection = session.scalars(select(Connection)).one()
        token = state.cipher.decrypt(connection.token_ciphertext)
        token["expires_at"] = int(time.time()) - 10
        connection.token_ciphertext = state.cipher.encrypt(token)
        session.commit()
        return str(token["access_token"])


def expired_and_counting(make_host: Any, database_url: str, xero: Any, **config: Any) -> HostApp:
    """A connected host whose stored access token has expired, with Xero's counts reset:
    the next token call is the refresh under test."""
    host = connected(make_host, database_url, xero, **config)
    expire_stored_token(host)
    xero.reset_stats()
    return host


def token_calls(xero: Any) -> int:
    return int(xero.stats()["identity"]["by_endpoint"].get("token", 0))


def stored_tokens(host: HostApp) -> StoredTokens:
    tokens = get_state().client_for(1)._tokens
    assert isinstance(tokens, StoredTokens)
    return tokens


def test_authorization_request_uses_fresh_state_and_s256(host: HostApp) -> None:
    with host.app.app_context():
        first = authorization_request(get_state().settings, "http://127.0.0.1/cb")
        second = authorization_request(get_state().settings, "http://127.0.0.1/cb")
    assert first.state != second.state
    assert "code_challenge_method=S256" in first.url
    assert first.code_verifier not in first.url


def test_fresh_token_used_without_calling_xero(make_host: Any, tmp_path: Any, xero: Any) -> None:
    host = connected(make_host, f"sqlite:///{tmp_path}/o.db", xero)
    xero.reset_stats()
    with host.app.app_context():
        assert stored_tokens(host).access_token()
    assert token_calls(xero) == 0


def test_expired_token_refreshed_once_and_rotated(make_host: Any, tmp_path: Any, xero: Any) -> None:
    host = connected(make_host, f"sqlite:///{tmp_path}/o.db", xero)
    old = expire_stored_token(host)
    xero.reset_stats()
    with host.app.app_context():
        new = stored_tokens(host).access_token()
        stored = get_state().cipher.decrypt(
            host.db.session.scalars(select(Connection)).one().token_ciphertext
        )
        assert stored_tokens(host).access_token() == new
    assert new != old
    assert stored["access_token"] == new
    assert token_calls(xero) == 1


def test_client_call_after_expiry_refreshes_then_succeeds(
    make_host: Any, tmp_path: Any, xero: Any
) -> None:
    host = connected(make_host, f"sqlite:///{tmp_path}/o.db", xero)
    expire_stored_token(host)
    with host.app.app_context():
        organisation = get_state().client_for(1).organisation(xero.tenant_ids[0])
    assert organisation.name == "Kiwi Garden Supplies Ltd"


def test_invalid_grant_marks_needs_reconnect(make_host: Any, tmp_path: Any, xero: Any) -> None:
    host = connected(make_host, f"sqlite:///{tmp_path}/o.db", xero)
    expire_stored_token(host)
    with host.app.app_context():
        state = get_state()
        token = state.cipher.decrypt(
            host.db.session.scalars(select(Connection)).one().token_ciphertext
        )
    import requests

    requests.post(
        f"{xero.url}/identity/connect/revocation",
        data={"token": token["refresh_token"]},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=5,
    )
    with host.app.app_context(), pytest.raises(AuthExpired) as error:
        stored_tokens(host).access_token()
    assert "An admin must reconnect Xero." in str(error.value)
    with host.app.app_context():
        connection = host.db.session.scalars(select(Connection)).one()
        assert connection.status == "needs_reconnect"
    admin_page = host.client("admin-acme").get("/integrations/xero/settings").text
    assert 'data-testid="reconnect-banner"' in admin_page
    rep_panel = host.client("rep-acme").get(
        "/integrations/xero/panel/contact/1", headers={"HX-Request": "true"}
    )
    assert rep_panel.status_code == 200
    assert 'data-reason="needs-reconnect"' in rep_panel.text
    assert "until an admin reconnects Xero" in rep_panel.text


def refresh_in_threads(host: HostApp, count: int) -> list[str]:
    barrier = threading.Barrier(count)
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        with host.app.app_context():
            tokens = stored_tokens(host)
            barrier.wait()
            try:
                results.append(tokens.access_token())
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return results


def test_concurrent_refresh_in_threads_spends_token_once(
    make_host: Any, database_url: str, xero: Any
) -> None:
    host = expired_and_counting(make_host, database_url, xero)
    results = refresh_in_threads(host, 8)
    assert len(set(results)) == 1
    assert token_calls(xero) == 1


@pytest.mark.redis
def test_concurrent_refresh_with_redis_lock_spends_token_once(
    make_host: Any, tmp_path: Any, xero: Any
) -> None:
    require_service("Redis", REDIS_URL, 6379)
    database_url = f"sqlite:///{tmp_path}/o.db"
    host = expired_and_counting(make_host, database_url, xero, XERO_PANEL_REDIS_URL=REDIS_URL)
    assert len(set(refresh_in_threads(host, 8))) == 1
    assert token_calls(xero) == 1


@pytest.mark.timeout(120)
def test_concurrent_refresh_in_processes_spends_token_once(
    make_host: Any, database_url: str, xero: Any
) -> None:
    host = expired_and_counting(make_host, database_url, xero)
    config = {"database_url": database_url, **xero_config(xero)}
    config["XERO_PANEL_ENCRYPTION_KEYS"] = host.app.config["XERO_PANEL_ENCRYPTION_KEYS"]
    start_at = time.time() + 4
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.oauth_worker", json.dumps(config), str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [worker.communicate(timeout=90) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], [err[-2000:] for _, err in outputs]
    tokens = {out.strip().splitlines()[-1] for out, _ in outputs}
    assert len(tokens) == 1
    assert token_calls(xero) == 1


def test_failed_refresh_marks_attention_and_a_later_refresh_clears_it(
    make_host: Any, database_url: str, xero: Any
) -> None:
    host = connected(make_host, database_url, xero)
    expire_stored_token(host)
    xero.add_fault({"endpoint": "token", "drop": True, "times": 1})
    with host.app.app_context():
        with pytest.raises(XeroUnavailable):
            stored_tokens(host).access_token()
        host.db.session.expire_all()
        connection = host.db.session.scalars(select(Connection)).one()
        assert connection.status == "active"
        assert connection.last_error is not None
        assert connection.last_error.startswith("The Xero token could not be refreshed:")
        assert connection.last_error_at is not None
        assert stored_tokens(host).access_token()
        host.db.session.expire_all()
        connection = host.db.session.scalars(select(Connection)).one()
        assert (connection.last_error, connection.last_error_at) == (None, None)
