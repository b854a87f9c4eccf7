"""The OAuth 2.0 flow against the running emulator, as a browser and a server app see it."""

from __future__ import annotations

import requests
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from xero_emulator.tokens import decode_unverified

from tests.emulator.conftest import (
    EXAMPLE_TENANT,
    OTHER_TENANT,
    REDIRECT,
    SCOPE,
    authorize_params,
    consent,
    get_code,
    login,
    pkce_pair,
    query_of,
    ticket_of,
    token_request,
)


def exchange(url, code, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    return token_request(url, data)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_authorize_page_shows_login_form(url):
    page = requests.get(f"{url}/identity/connect/authorize", params=authorize_params(), timeout=10)
    assert page.status_code == 200
    assert "name='email'" in page.text and "name='password'" in page.text


def test_authorize_page_escapes_state(url):
    params = authorize_params(state="<script>alert(1)</script>")
    page = requests.get(f"{url}/identity/connect/authorize", params=params, timeout=10)
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;" in page.text


def test_login_wrong_password_shows_error(url):
    page = login(url, authorize_params(), password="nope")
    assert page.status_code == 401
    assert "incorrect" in page.text


def test_consent_page_lists_users_organisations(url):
    page = login(url, authorize_params())
    assert "Dev Evangelist - Sid Test 3 (NZ-2016-02)" in page.text
    assert "Other Org Ltd" in page.text
    assert "Allow access" in page.text and "Cancel" in page.text


def test_allow_redirects_with_code_and_state(url):
    params = authorize_params()
    answer = consent(url, params, ticket_of(login(url, params).text), [EXAMPLE_TENANT])
    query = query_of(answer.headers["Location"])
    assert answer.headers["Location"].startswith(REDIRECT)
    assert query["state"] == "st-123" and query["code"]


def test_cancel_redirects_access_denied(url):
    params = authorize_params()
    answer = consent(url, params, ticket_of(login(url, params).text), [], action="cancel")
    assert query_of(answer.headers["Location"]) == {"error": "access_denied", "state": "st-123"}


def test_bad_redirect_uri_is_not_followed(url):
    params = authorize_params(redirect_uri="https://evil.example/callback")
    page = requests.get(
        f"{url}/identity/connect/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert page.status_code == 400
    assert "redirect_uri" in page.text


def test_demo_client_accepts_any_loopback_port(url):
    params = authorize_params(redirect_uri="http://localhost:61234/cb")
    page = requests.get(f"{url}/identity/connect/authorize", params=params, timeout=10)
    assert page.status_code == 200


def test_seed_client_needs_exact_redirect_uri(url):
    params = authorize_params(client_id="third-party", redirect_uri="http://127.0.0.1:5000/cb")
    page = requests.get(f"{url}/identity/connect/authorize", params=params, timeout=10)
    assert page.status_code == 400


def test_unknown_client_is_rejected_on_page(url):
    page = requests.get(
        f"{url}/identity/connect/authorize", params=authorize_params(client_id="x"), timeout=10
    )
    assert page.status_code == 400


def test_unknown_scope_redirects_invalid_scope(url):
    params = authorize_params(scope="openid accounting.everything")
    answer = requests.get(
        f"{url}/identity/connect/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert query_of(answer.headers["Location"])["error"] == "invalid_scope"


def test_wrong_response_type_redirects_error(url):
    params = authorize_params(response_type="token")
    answer = requests.get(
        f"{url}/identity/connect/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert query_of(answer.headers["Location"])["error"] == "unsupported_response_type"


def test_code_exchange_returns_xero_token_fields(url):
    tokens = exchange(url, get_code(url, authorize_params())).json()
    assert set(tokens) == {
        "id_token",
        "access_token",
        "expires_in",
        "token_type",
        "refresh_token",
        "scope",
    }
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 1800
    assert tokens["scope"] == SCOPE


def test_id_token_carries_user_claims(url):
    tokens = exchange(url, get_code(url, authorize_params())).json()
    claims = decode_unverified(tokens["id_token"])
    assert claims["email"] == "kat@example.test"
    assert (claims["given_name"], claims["family_name"]) == ("Katherine", "Warren")
    assert claims["aud"] == DEMO_CLIENT_ID and claims["iss"] == url
    assert {"xero_userid", "sub", "exp", "iat"} <= set(claims)


def test_id_token_verifies_with_published_jwks(url):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    tokens = exchange(url, get_code(url, authorize_params())).json()
    jwks = requests.get(f"{url}/.well-known/openid-configuration/jwks", timeout=10).json()
    token = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert token.claims["email"] == "kat@example.test"


def test_discovery_points_at_emulator(url):
    meta = requests.get(f"{url}/.well-known/openid-configuration", timeout=10).json()
    assert meta["issuer"] == url
    assert meta["token_endpoint"] == f"{url}/connect/token"


def test_code_exchange_with_form_client_auth(url):
    code = get_code(url, authorize_params())
    answer = requests.post(
        f"{url}/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
        timeout=10,
    )
    assert answer.status_code == 200


def test_code_exchange_wrong_secret_is_invalid_client(url):
    code = get_code(url, authorize_params())
    answer = token_request(
        url,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(DEMO_CLIENT_ID, "wrong"),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client"


def test_replayed_code_is_invalid_grant(url):
    code = get_code(url, authorize_params())
    assert exchange(url, code).status_code == 200
    replay = exchange(url, code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_code_exchange_other_redirect_uri_is_invalid_grant(url):
    code = get_code(url, authorize_params())
    answer = token_request(
        url,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT + "x"},
    )
    assert answer.json()["error"] == "invalid_grant"


def test_pkce_right_verifier_succeeds(url):
    verifier, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    answer = exchange(url, get_code(url, params), code_verifier=verifier)
    assert answer.status_code == 200


def test_pkce_wrong_verifier_is_invalid_grant(url):
    _, challenge = pkce_pair()
    other, _ = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    answer = exchange(url, get_code(url, params), code_verifier=other)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_pkce_missing_verifier_is_invalid_grant(url):
    _, challenge = pkce_pair()
    params = authorize_params(code_challenge=challenge, code_challenge_method="S256")
    assert exchange(url, get_code(url, params)).json()["error"] == "invalid_grant"


def test_pkce_plain_method_is_rejected(url):
    params = authorize_params(code_challenge="abc", code_challenge_method="plain")
    answer = requests.get(
        f"{url}/identity/connect/authorize", params=params, allow_redirects=False, timeout=10
    )
    assert query_of(answer.headers["Location"])["error"] == "invalid_request"


def test_connections_list_granted_tenants(url):
    code = get_code(url, authorize_params(), [EXAMPLE_TENANT, OTHER_TENANT])
    tokens = exchange(url, code).json()
    conns = requests.get(f"{url}/connections", headers=bearer(tokens["access_token"]), timeout=10)
    assert {c["tenantId"] for c in conns.json()} == {EXAMPLE_TENANT, OTHER_TENANT}


def test_connections_share_auth_event_id(url):
    code = get_code(url, authorize_params(), [EXAMPLE_TENANT, OTHER_TENANT])
    tokens = exchange(url, code).json()
    conns = requests.get(f"{url}/connections", headers=bearer(tokens["access_token"]), timeout=10)
    assert len({c["authEventId"] for c in conns.json()}) == 1


def test_connections_filter_by_auth_event_id(url, emu):
    first = emu.issue_tokens(user_email="kat@example.test", tenant_ids=[OTHER_TENANT])
    code = get_code(url, authorize_params(), [EXAMPLE_TENANT])
    tokens = exchange(url, code).json()
    event = decode_unverified(tokens["access_token"])["authentication_event_id"]
    conns = requests.get(
        f"{url}/connections",
        params={"authEventId": event},
        headers=bearer(first["access_token"]),
        timeout=10,
    ).json()
    assert [c["tenantId"] for c in conns] == [EXAMPLE_TENANT]


def test_full_flow_reaches_accounting_api(url):
    tokens = exchange(url, get_code(url, authorize_params())).json()
    conns = requests.get(f"{url}/connections", headers=bearer(tokens["access_token"]), timeout=10)
    tenant = conns.json()[0]["tenantId"]
    invoices = requests.get(
        f"{url}/api.xro/2.0/Invoices",
        headers={**bearer(tokens["access_token"]), "xero-tenant-id": tenant},
        timeout=10,
    )
    assert invoices.status_code == 200 and len(invoices.json()["Invoices"]) == 3


def test_delete_connection_returns_204(url, tokens):
    conns = requests.get(f"{url}/connections", headers=bearer(tokens["access_token"]), timeout=10)
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
    conns = requests.get(f"{url}/connections", headers=bearer(tokens["access_token"]), timeout=10)
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
    requests.post(f"{url}/_emulator/clock", json={"advance_seconds": 1801}, timeout=10)
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

    from tests.emulator.conftest import example_seed

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
    conns = requests.get(f"{url}/connections", headers=bearer(tokens["access_token"]), timeout=10)
    assert [c["tenantId"] for c in conns.json()] == [OTHER_TENANT]


def test_identity_calls_are_counted(url, tokens, emu):
    refresh(url, tokens["refresh_token"])
    assert emu.stats()["identity"]["by_endpoint"]["token"] == 1
