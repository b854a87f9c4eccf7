"""The OAuth 2.0 flow against the running emulator, as a browser and a server app see it."""

from __future__ import annotations

import requests
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from xero_emulator.tokens import decode_unverified

from tests.emulator.helpers import (
    EXAMPLE_TENANT,
    REDIRECT,
    SCOPE,
    authorize_params,
    consent,
    exchange,
    get_code,
    login,
    pkce_pair,
    query_of,
    ticket_of,
    token_request,
)


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
