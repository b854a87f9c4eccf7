"""The stateless rules of Xero's OAuth 2.0: checking an authorize request, client
authentication, PKCE, redirects, and the error answers. :mod:`.identity` keeps the state.

Xero's flow: https://developer.xero.com/documentation/guides/oauth2/auth-flow/
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlencode, urlsplit

from .scopes import KNOWN_SCOPES
from .seed import ClientSpec
from .tokens import b64url

__all__ = [
    "AccessInfo",
    "AuthorizeRequest",
    "OAuthError",
    "authenticate_client",
    "check_authorize",
    "check_scopes",
    "pkce_matches",
    "redirect",
    "redirect_uri_allowed",
    "token_expired_detail",
]

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class OAuthError(Exception):
    """An OAuth error answer: ``error`` code, description and HTTP status."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        """The JSON error body of the token and revocation endpoints."""
        out = {"error": self.error}
        if self.description:
            out["error_description"] = self.description
        return out


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked authorize request."""

    client: ClientSpec
    redirect_uri: str
    scope: tuple[str, ...]
    state: str
    code_challenge: str


@dataclass(frozen=True)
class AccessInfo:
    """What a valid access token grants: its client, user and scopes."""

    client_id: str
    user_email: str
    scope: frozenset[str]
    grant_id: str


def redirect_uri_allowed(client: ClientSpec, uri: str) -> bool:
    """Exact match, or for the demo client any loopback ``http`` URI on any port."""
    if uri in client.redirect_uris:
        return True
    if not client.loopback:
        return False
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme == "http" and host in _LOOPBACK_HOSTS and not parts.fragment


def check_scopes(scope: Iterable[str], status: int = 400) -> tuple[str, ...]:
    """The scopes as a tuple. :raises OAuthError: ``invalid_scope`` naming unknown ones."""
    scopes = tuple(s for s in scope if s)
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise OAuthError("invalid_scope", f"Invalid scope: {' '.join(unknown)}", status)
    return scopes


def check_authorize(
    clients: Mapping[str, ClientSpec], params: Mapping[str, str]
) -> AuthorizeRequest:
    """Check an authorize request.

    :raises OAuthError: with ``status`` 400 when the error must be shown on the page
        (unknown client or redirect URI), or with ``status`` 302 when it is to be sent
        back to the client's redirect URI.
    """
    client = clients.get(params.get("client_id", ""))
    if client is None:
        raise OAuthError("unauthorized_client", "Unknown client or client not enabled")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri_allowed(client, redirect_uri):
        raise OAuthError("invalid_request", "Invalid redirect_uri")
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code", 302)
    scope = check_scopes(params.get("scope", "").split(), 302)
    if not scope:
        raise OAuthError("invalid_scope", "Invalid scope: ", 302)
    challenge = params.get("code_challenge", "")
    method = params.get("code_challenge_method", "")
    if challenge and method != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256", 302)
    if not challenge and not client.client_secret:
        raise OAuthError("invalid_request", "code_challenge is required", 302)
    return AuthorizeRequest(client, redirect_uri, scope, params.get("state", ""), challenge)


def redirect(redirect_uri: str, values: Mapping[str, str]) -> str:
    """``redirect_uri`` with ``values`` added to its query."""
    sep = "&" if urlsplit(redirect_uri).query else "?"
    return redirect_uri + sep + urlencode({k: v for k, v in values.items() if v != ""})


def authenticate_client(
    clients: Mapping[str, ClientSpec], authorization: str | None, form: Mapping[str, str]
) -> ClientSpec:
    """The client named by HTTP Basic auth or by form fields.

    :raises OAuthError: ``invalid_client``.
    """
    client_id = form.get("client_id", "")
    secret = form.get("client_secret", "")
    if authorization and authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "Malformed Basic authorization") from None
        client_id, _, secret = decoded.partition(":")
        client_id, secret = unquote(client_id), unquote(secret)
    client = clients.get(client_id)
    if client is None:
        raise OAuthError("invalid_client")
    if client.client_secret and not hmac.compare_digest(client.client_secret, secret):
        raise OAuthError("invalid_client")
    return client


def pkce_matches(verifier: str, challenge: str) -> bool:
    """Whether an S256 ``code_verifier`` answers the ``code_challenge``."""
    if not _VERIFIER.match(verifier):
        return False
    expected = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    return hmac.compare_digest(expected, challenge)


def token_expired_detail(expires_ms: int) -> str:
    """Xero's ``Detail`` for an expired access token."""
    moment = dt.datetime.fromtimestamp(expires_ms / 1000, tz=dt.UTC)
    return f"TokenExpired: token expired at {moment.strftime('%m/%d/%Y %H:%M:%S')}"
