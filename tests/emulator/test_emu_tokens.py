"""Tokens and connections after the OAuth flow: /connections, refresh token rotation and
grace, access token expiry, revocation, scopes per endpoint."""

from __future__ import annotations

import requests
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from xero_emulator.tokens import decode_unverified

from tests.emulator.helpers import (
    EXAMPLE_TENANT,
    OTHER_TENANT,
    authorize_params,
    bearer,
    connections,
    control,
    exchange,
    get_code,
    token_request,
)


def test_connections_list_granted_tenants(url):
    code = get_code(url, authorize_params(), [EXAMPLE_TENANT, OTHER_TENANT])
    tokens = exchange(url, code).json()
    conns = connections(url, tokens["access_token"])
    assert {c["tenantId"] for c in conns.json()} == {EXAMPLE_TENANT, OTHER_TENANT}


def test_connections_share_auth_event_id(url):
    code = get_code(url, authorize_params(), [EXAMPLE_TENANT, OTHER_TENANT])
    tokens = exchange(url, code).json()
    conns = connections(url, tokens["access_token"])
    assert len({c["authEventId"] for c in conns.json()}) == 1


def test_connections_filter_by_auth_event_id(url, emu):
    first = emu.issue_tokens(user_email="kat@example.test", tenant_ids=[OTHER_TENANT])
    code = get_code(url, authorize_params(), [EXAMPLE_TENANT])
    tokens = exchange(url, code).json()
    event = decode_unverified(tokens["access_token"])["authentication_event_id"]
    conns = connections(url, first["access_token"], {"authEventId": event}).json()
    assert [c["tenantId"] for c in conns] == [EXAMPLE_TENANT]


def test_full_flow_reaches_accounting_api(url):
    tokens = exchange(url, get_code(url, authorize_params())).json()
    conns = connections(url, tokens["access_token"])
    tenant = conns.json()[0]["tenantId"]
    invoices = requests.get(
        f"{url}/api.xro/2.0/Invoices",
        headers={**bearer(tokens["access_token"]), "xero-tenant-id": tenant},
        timeout=10,
    )
    assert invoices.status_code == 200 and len(invoices.json()["Invoices"]) == 3


def test_delete_connection_returns_204(url, tokens):
    conns = connections(url, tokens["access_token"])
    cid = conns.json()[0]["id"]
    answer = requests.delete(
        f"{url}/connections/{cid}", headers=bearer(tokens["access_token"]), timeout=10
    )
    assert answer.status_code == 204 and answer.content == b""


def test_delete_unknown_connection_returns_404(url, tokens):
    answer = requests.delete(
        f"{url}/connections/00000000-0000-4000-8000-000000000000",
        headers=bearer(tokens["access_token"]),
        timeout=10,
    )
    assert answer.status_code == 404


def test_deleted_connection_blocks_api(url, tokens, api):
    conns = connections(url, tokens["access_token"])
    target = next(c for c in conns.json() if c["tenantId"] == EXAMPLE_TENANT)
    requests.delete(
        f"{url}/connections/{target['id']}", headers=bearer(tokens["access_token"]), timeout=10
    )
    answer = api("Invoices")
    assert answer.status_code == 403 and answer.json()["Detail"] == "AuthenticationUnsuccessful"


def refresh(url, token):
    return token_request(url, {"grant_type": "refresh_token", "refresh_token": token})


def test_refresh_rotates_refresh_token(url, tokens):
    answer = refresh(url, tokens["refresh_token"]).json()
    assert answer["refresh_token"] != tokens["refresh_token"]
    assert answer["access_token"] != tokens["access_token"]


def test_refresh_old_token_usable_within_grace(url, tokens, clock):
    refresh(url, tokens["refresh_token"])
    clock.advance(29 * 60)
    assert refresh(url, tokens["refresh_token"]).status_code == 200


def test_refresh_old_token_invalid_after_grace(url, tokens, clock):
    refresh(url, tokens["refresh_token"])
    clock.advance(30 * 60 + 1)
    answer = refresh(url, tokens["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_refresh_new_token_valid_after_grace(url, tokens, clock):
    new = refresh(url, tokens["refresh_token"]).json()
    clock.advance(31 * 60)
    assert refresh(url, new["refresh_token"]).status_code == 200


def test_clock_control_advances_grace(url, tokens):
    refresh(url, tokens["refresh_token"])
    control(url, "clock", {"advance_seconds": 1801})
    assert refresh(url, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_unknown_refresh_token_is_invalid_grant(url):
    assert refresh(url, "nope").json()["error"] == "invalid_grant"


def test_access_token_expires(api, clock):
    clock.advance(1801)
    answer = api("Invoices")
    assert answer.status_code == 401
    assert answer.json()["Detail"].startswith("TokenExpired: token expired at ")


def test_access_token_ttl_is_configurable(clock):
    from xero_emulator import Emulator

    from tests.emulator.helpers import example_seed

    emu = Emulator(example_seed(), access_token_ttl=60, clock=clock)
    assert emu.issue_tokens(user_email="kat@example.test")["expires_in"] == 60


def test_revocation_invalidates_refresh_token(url, tokens):
    answer = token_request(url, {"token": tokens["refresh_token"]})
    answer = requests.post(
        f"{url}/identity/connect/revocation",
        data={"token": tokens["refresh_token"]},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=10,
    )
    assert answer.status_code == 200
    assert refresh(url, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_revocation_removes_users_connections(url, tokens, emu):
    requests.post(
        f"{url}/connect/revocation",
        data={
            "token": tokens["refresh_token"],
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
        timeout=10,
    )
    assert emu.identity.connections == {}


def test_revocation_needs_client_auth(url, tokens):
    answer = requests.post(
        f"{url}/connect/revocation", data={"token": tokens["refresh_token"]}, timeout=10
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client"


def test_missing_invoice_scope_is_authorization_unsuccessful(emu, api):
    tokens = emu.issue_tokens(
        user_email="kat@example.test", scope="openid accounting.contacts.read"
    )
    answer = api("Invoices", token=tokens["access_token"])
    assert answer.status_code == 401 and answer.json()["Detail"] == "AuthorizationUnsuccessful"


def test_missing_settings_scope_blocks_organisation(emu, api):
    tokens = emu.issue_tokens(user_email="kat@example.test", scope="accounting.transactions.read")
    assert api("Organisation", token=tokens["access_token"]).status_code == 401


def test_broad_transactions_scope_reads_invoices(emu, api):
    tokens = emu.issue_tokens(user_email="kat@example.test", scope="accounting.transactions")
    assert api("Invoices", token=tokens["access_token"]).status_code == 200


def test_no_offline_access_means_no_refresh_token(emu):
    tokens = emu.issue_tokens(user_email="kat@example.test", scope="accounting.invoices.read")
    assert "refresh_token" not in tokens and "id_token" not in tokens


def test_issue_tokens_creates_connections(emu, url):
    tokens = emu.issue_tokens(user_email="solo@example.test")
    conns = connections(url, tokens["access_token"])
    assert [c["tenantId"] for c in conns.json()] == [OTHER_TENANT]


def test_identity_calls_are_counted(url, tokens, emu):
    refresh(url, tokens["refresh_token"])
    assert emu.stats()["identity"]["by_endpoint"]["token"] == 1
