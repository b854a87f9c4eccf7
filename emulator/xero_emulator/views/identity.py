"""Views of Xero's identity server: the index, OpenID discovery and JWKS, the authorize
(login and consent) pages, the token and revocation endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from ..oauth import AuthorizeRequest, OAuthError, redirect
from ..scopes import DISCOVERY_SCOPES
from ..tokens import signing_key
from . import pages
from .http import html, identity_fault, issuer_of, json

if TYPE_CHECKING:
    from ..backend import XeroBackend

__all__ = ["authorize", "discovery", "index", "jwks", "revocation", "token"]

_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def index(emu: XeroBackend, request: Request) -> Response:
    """``GET /``: where things are, and the tenants."""
    return json(
        {
            "name": "xero-panel Xero emulator",
            "authorize": "/identity/connect/authorize",
            "token": "/identity/connect/token",
            "revocation": "/identity/connect/revocation",
            "connections": "/connections",
            "api": "/api.xro/2.0",
            "tenants": [
                {"tenantId": tid, "tenantName": emu.tenant(tid).tenant_name}
                for tid in emu.tenant_ids
            ],
            "control_enabled": emu.control_enabled,
        }
    )


def discovery(emu: XeroBackend, request: Request) -> Response:
    """The OpenID Connect discovery document."""
    issuer = issuer_of(request)
    return json(
        {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/.well-known/openid-configuration/jwks",
            "authorization_endpoint": f"{issuer}/identity/connect/authorize",
            "token_endpoint": f"{issuer}/connect/token",
            "revocation_endpoint": f"{issuer}/connect/revocation",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": DISCOVERY_SCOPES,
        }
    )


def jwks(emu: XeroBackend, request: Request) -> Response:
    """The key set that verifies the emulator's tokens."""
    return json({"keys": [signing_key().jwk]})


def authorize(emu: XeroBackend, request: Request) -> Response:
    """``/identity/connect/authorize``: the login form (GET), then the consent form (POST
    ``step=login``), then the redirect back to the client (POST ``step=consent``)."""
    emu.count_identity_call("authorize")
    source = request.form if request.method == "POST" else request.args
    params = {k: source[k] for k in _AUTHORIZE_PARAMS if k in source}
    try:
        auth = emu.check_authorize(params)
    except OAuthError as exc:
        if exc.status != 302:
            return html(pages.error_page(f"{exc.error}: {exc.description}"), 400)
        return _redirect_error(params["redirect_uri"], exc.error, params.get("state", ""))
    app_name = auth.client.name
    if request.method == "GET":
        return html(pages.login_page(params, app_name))
    if request.form.get("step", "") == "login":
        user = emu.login(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            error = "Your email or password is incorrect"
            return html(pages.login_page(params, app_name, error), 401)
        return _consent(emu, params, auth, user.email, emu.new_login_ticket(user))
    user = emu.user_for_ticket(request.form.get("ticket", ""))
    if user is None:
        return html(pages.login_page(params, app_name, "Please log in again"), 401)
    if request.form.get("action") != "allow":
        return _redirect_error(auth.redirect_uri, "access_denied", auth.state)
    chosen = [t for t in request.form.getlist("tenant") if t in user.tenants]
    if not chosen:
        ticket = request.form["ticket"]
        return _consent(emu, params, auth, user.email, ticket, "Select an organisation")
    auth_event_id = emu.connect(auth.client.client_id, user, chosen)
    code = emu.new_code(auth, user, auth_event_id)
    values = {"code": code, "scope": " ".join(auth.scope), "state": auth.state}
    return Response("", status=302, headers={"Location": redirect(auth.redirect_uri, values)})


def _consent(
    emu: XeroBackend,
    params: Mapping[str, str],
    auth: AuthorizeRequest,
    email: str,
    ticket: str,
    error: str = "",
) -> Response:
    tenants = emu.grantable_tenants(email)
    page = pages.consent_page(params, auth.client.name, email, ticket, tenants, auth.scope, error)
    return html(page, 400 if error else 200)


def _redirect_error(redirect_uri: str, error: str, state: str) -> Response:
    location = redirect(redirect_uri, {"error": error, "state": state})
    return Response("", status=302, headers={"Location": location})


def token(emu: XeroBackend, request: Request) -> Response:
    """``POST /connect/token``: the authorization code and refresh token grants."""
    faulted = identity_fault(emu, "token")
    if faulted is not None:
        return faulted
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    try:
        body = emu.token(
            request.headers.get("Authorization"), request.form.to_dict(), issuer_of(request)
        )
    except OAuthError as exc:
        return json(exc.body(), exc.status, headers)
    return json(body, 200, headers)


def revocation(emu: XeroBackend, request: Request) -> Response:
    """``POST /connect/revocation``: revoke a refresh token's grant."""
    faulted = identity_fault(emu, "revocation")
    if faulted is not None:
        return faulted
    try:
        emu.revoke(request.headers.get("Authorization"), request.form.to_dict())
    except OAuthError as exc:
        return json(exc.body(), exc.status)
    return Response("", status=200)
