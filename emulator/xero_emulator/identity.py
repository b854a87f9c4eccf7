"""Xero's identity server, emulated: clients, users, codes, tokens, grants and connections.

This module holds the OAuth 2.0 state and rules; :mod:`.app` maps HTTP requests onto it.
Access tokens and id_tokens are RS256 JWTs (see :mod:`.tokens`); the emulator also keeps a
record of each token so that revocation and expiry are enforced.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from .seed import ClientSpec, UserSpec
from .tokens import b64url, signing_key
from .xero_json import format_connection_time

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "KNOWN_SCOPES",
    "REFRESH_GRACE_SECONDS",
    "AccessInfo",
    "AuthorizeRequest",
    "Connection",
    "Identity",
    "OAuthError",
]

DEMO_CLIENT_ID = "xero-panel-demo"
DEMO_CLIENT_SECRET = "xero-panel-demo-secret"  # noqa: S105 - a public demo value, by design

#: Xero lets the previous refresh token be retried for 30 minutes after a rotation.
REFRESH_GRACE_SECONDS = 30 * 60
#: An unused refresh token expires after 60 days.
REFRESH_LIFETIME_SECONDS = 60 * 86_400
CODE_LIFETIME_SECONDS = 300
LOGIN_TICKET_SECONDS = 600

KNOWN_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.banktransactions",
        "accounting.banktransactions.read",
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "accounting.classicexpenses",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.attachments",
        "accounting.attachments.read",
        "accounting.reports.read",
        "accounting.reports.aged.read",
        "accounting.reports.balancesheet.read",
        "accounting.reports.profitandloss.read",
        "accounting.reports.tenninetynine.read",
        "accounting.journals.read",
        "accounting.budgets.read",
        "paymentservices",
    }
)

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


@dataclass
class Connection:
    """One organisation connected to one client for one Xero user."""

    id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    client_id: str
    user_email: str
    auth_event_id: str
    created_ms: int
    updated_ms: int
    ticks: int = field(default_factory=lambda: secrets.randbelow(10_000))

    def as_json(self) -> dict[str, Any]:
        """The connection as ``GET /connections`` lists it."""
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": self.tenant_type,
            "tenantName": self.tenant_name,
            "createdDateUtc": format_connection_time(self.created_ms, self.ticks),
            "updatedDateUtc": format_connection_time(self.updated_ms, self.ticks + 22_440),
        }


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked authorize request."""

    client: ClientSpec
    redirect_uri: str
    scope: tuple[str, ...]
    state: str
    code_challenge: str


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    user_email: str
    scope: tuple[str, ...]
    code_challenge: str
    auth_event_id: str
    expires_ms: int
    used: bool = False


@dataclass
class _Grant:
    id: str
    client_id: str
    user_email: str
    scope: tuple[str, ...]
    auth_event_id: str
    auth_time: int
    revoked: bool = False


@dataclass
class _Refresh:
    grant_id: str
    issued_ms: int
    rotated_ms: int | None = None


@dataclass
class _Access:
    grant_id: str
    expires_ms: int


@dataclass(frozen=True)
class AccessInfo:
    """What a valid access token grants: its client, user and scopes."""

    client_id: str
    user_email: str
    scope: frozenset[str]
    grant_id: str


class Identity:
    """The OAuth 2.0 / OpenID Connect state of one emulator.

    :param clients: the registered OAuth clients.
    :param users: the Xero users who can log in.
    :param tenant_names: tenantId -> (tenantName, tenantType) for the connections list.
    :param now_ms: the emulator clock, in Unix milliseconds.
    :param access_token_ttl: access token lifetime in seconds.
    """

    def __init__(
        self,
        clients: Iterable[ClientSpec],
        users: Iterable[UserSpec],
        tenant_names: Mapping[str, tuple[str, str]],
        now_ms: Callable[[], int],
        access_token_ttl: int = 1800,
    ) -> None:
        self.clients = {c.client_id: c for c in clients}
        self.users = {u.email.lower(): u for u in users}
        self.tenant_names = dict(tenant_names)
        self.now_ms = now_ms
        self.access_token_ttl = access_token_ttl
        self._lock = threading.RLock()
        self._codes: dict[str, _Code] = {}
        self._tickets: dict[str, tuple[str, int]] = {}
        self._grants: dict[str, _Grant] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Access] = {}
        self.connections: dict[str, Connection] = {}

    # -- authorize ---------------------------------------------------------------------------

    def redirect_uri_allowed(self, client: ClientSpec, uri: str) -> bool:
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

    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """Check an authorize request.

        :raises OAuthError: with ``status`` 400 when the error must be shown on the page
            (unknown client or redirect URI), or with ``status`` 302 when it is to be sent
            back to the client's redirect URI.
        """
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise OAuthError("unauthorized_client", "Unknown client or client not enabled")
        redirect_uri = params.get("redirect_uri", "")
        if not self.redirect_uri_allowed(client, redirect_uri):
            raise OAuthError("invalid_request", "Invalid redirect_uri")
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "Only response_type=code", 302)
        scope = tuple(s for s in params.get("scope", "").split() if s)
        unknown = [s for s in scope if s not in KNOWN_SCOPES]
        if not scope or unknown:
            raise OAuthError("invalid_scope", f"Invalid scope: {' '.join(unknown)}", 302)
        challenge = params.get("code_challenge", "")
        method = params.get("code_challenge_method", "")
        if challenge and method != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256", 302)
        if not challenge and not client.client_secret:
            raise OAuthError("invalid_request", "code_challenge is required", 302)
        return AuthorizeRequest(client, redirect_uri, scope, params.get("state", ""), challenge)

    @staticmethod
    def redirect(redirect_uri: str, values: Mapping[str, str]) -> str:
        """``redirect_uri`` with ``values`` added to its query."""
        sep = "&" if urlsplit(redirect_uri).query else "?"
        return redirect_uri + sep + urlencode({k: v for k, v in values.items() if v != ""})

    def login(self, email: str, password: str) -> UserSpec | None:
        """The user with these credentials, or ``None``."""
        user = self.users.get(email.strip().lower())
        if user is None or not hmac.compare_digest(user.password, password):
            return None
        return user

    def new_login_ticket(self, user: UserSpec) -> str:
        """A short-lived ticket that carries a login from the login form to the consent form."""
        ticket = secrets.token_urlsafe(24)
        with self._lock:
            expires = self.now_ms() + LOGIN_TICKET_SECONDS * 1000
            self._tickets[ticket] = (user.email.lower(), expires)
        return ticket

    def user_for_ticket(self, ticket: str) -> UserSpec | None:
        """The user a login ticket belongs to, while it is valid."""
        with self._lock:
            entry = self._tickets.get(ticket)
        if entry is None or entry[1] < self.now_ms():
            return None
        return self.users.get(entry[0])

    def connect(self, client_id: str, user: UserSpec, tenant_ids: Iterable[str]) -> str:
        """Create (or refresh) the user's connections for this client; returns the authEventId."""
        auth_event_id = str(uuid.uuid4())
        now = self.now_ms()
        with self._lock:
            for tenant_id in tenant_ids:
                if tenant_id not in user.tenants:
                    raise OAuthError("access_denied", f"user cannot grant {tenant_id}", 302)
                existing = self._connection_for(client_id, user.email.lower(), tenant_id)
                if existing is not None:
                    existing.updated_ms = now
                    existing.auth_event_id = auth_event_id
                    continue
                name, kind = self.tenant_names[tenant_id]
                conn = Connection(
                    str(uuid.uuid4()),
                    tenant_id,
                    name,
                    kind,
                    client_id,
                    user.email.lower(),
                    auth_event_id,
                    now,
                    now,
                )
                self.connections[conn.id] = conn
        return auth_event_id

    def new_code(self, request: AuthorizeRequest, user: UserSpec, auth_event_id: str) -> str:
        """A single-use authorization code for an approved request."""
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Code(
                request.client.client_id,
                request.redirect_uri,
                user.email.lower(),
                request.scope,
                request.code_challenge,
                auth_event_id,
                self.now_ms() + CODE_LIFETIME_SECONDS * 1000,
            )
        return code

    # -- token ------------------------------------------------------------------------------

    def authenticate_client(self, authorization: str | None, form: Mapping[str, str]) -> ClientSpec:
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
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError("invalid_client")
        if client.client_secret and not hmac.compare_digest(client.client_secret, secret):
            raise OAuthError("invalid_client")
        return client

    def token(
        self, authorization: str | None, form: Mapping[str, str], issuer: str
    ) -> dict[str, Any]:
        """Answer ``POST /connect/token``. :raises OAuthError: on any failure."""
        client = self.authenticate_client(authorization, form)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form, issuer)
        if grant_type == "refresh_token":
            return self._refresh_grant(client, form.get("refresh_token", ""), issuer)
        raise OAuthError("unsupported_grant_type")

    def _exchange_code(
        self, client: ClientSpec, form: Mapping[str, str], issuer: str
    ) -> dict[str, Any]:
        with self._lock:
            code = self._codes.get(form.get("code", ""))
            if code is None or code.used or code.expires_ms < self.now_ms():
                raise OAuthError("invalid_grant")
            if code.client_id != client.client_id:
                raise OAuthError("invalid_grant")
            code.used = True
            if form.get("redirect_uri", "") != code.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri does not match")
            if code.code_challenge:
                verifier = form.get("code_verifier", "")
                if not _VERIFIER.match(verifier):
                    raise OAuthError("invalid_grant", "invalid code_verifier")
                expected = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
                if not hmac.compare_digest(expected, code.code_challenge):
                    raise OAuthError("invalid_grant", "invalid code_verifier")
            grant = _Grant(
                str(uuid.uuid4()),
                client.client_id,
                code.user_email,
                code.scope,
                code.auth_event_id,
                self.now_ms() // 1000,
            )
            self._grants[grant.id] = grant
            return self._issue(grant, issuer)

    def _refresh_grant(self, client: ClientSpec, token: str, issuer: str) -> dict[str, Any]:
        now = self.now_ms()
        with self._lock:
            record = self._refresh.get(token)
            if record is None:
                raise OAuthError("invalid_grant")
            grant = self._grants[record.grant_id]
            if grant.revoked or grant.client_id != client.client_id:
                raise OAuthError("invalid_grant")
            if record.rotated_ms is not None:
                if now - record.rotated_ms > REFRESH_GRACE_SECONDS * 1000:
                    raise OAuthError("invalid_grant")
            elif now - record.issued_ms > REFRESH_LIFETIME_SECONDS * 1000:
                raise OAuthError("invalid_grant")
            if not self._connections_of(grant.client_id, grant.user_email):
                raise OAuthError("invalid_grant")
            if record.rotated_ms is None:
                record.rotated_ms = now
            return self._issue(grant, issuer)

    def issue_direct(
        self, client_id: str, user: UserSpec, tenant_ids: Iterable[str], scope: str, issuer: str
    ) -> dict[str, Any]:
        """Connect and issue tokens without a browser, as if the user had clicked Allow."""
        if client_id not in self.clients:
            raise OAuthError("invalid_client", f"unknown client_id {client_id!r}")
        scopes = tuple(scope.split())
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            raise OAuthError("invalid_scope", f"Invalid scope: {' '.join(unknown)}")
        auth_event_id = self.connect(client_id, user, tenant_ids)
        with self._lock:
            grant = _Grant(
                str(uuid.uuid4()),
                client_id,
                user.email.lower(),
                scopes,
                auth_event_id,
                self.now_ms() // 1000,
            )
            self._grants[grant.id] = grant
            return self._issue(grant, issuer)

    def _issue(self, grant: _Grant, issuer: str) -> dict[str, Any]:
        user = self.users[grant.user_email]
        now = self.now_ms()
        iat = now // 1000
        exp = iat + self.access_token_ttl
        jti = uuid.uuid4().hex.upper()
        sub = user.xero_userid.replace("-", "")
        session = hashlib.sha256(f"{grant.id}:session".encode()).hexdigest()[:32]
        key = signing_key()
        access_token = key.sign(
            {
                "nbf": iat,
                "exp": exp,
                "iss": issuer,
                "aud": f"{issuer}/resources",
                "client_id": grant.client_id,
                "sub": sub,
                "auth_time": grant.auth_time,
                "xero_userid": user.xero_userid,
                "global_session_id": session,
                "sid": session,
                "authentication_event_id": grant.auth_event_id,
                "jti": jti,
                "scope": list(grant.scope),
                "amr": ["pwd"],
            }
        )
        self._access[jti] = _Access(grant.id, exp * 1000)
        body: dict[str, Any] = {}
        if "openid" in grant.scope:
            at_hash = b64url(hashlib.sha256(access_token.encode()).digest()[:16])
            claims: dict[str, Any] = {
                "nbf": iat,
                "exp": iat + 300,
                "iss": issuer,
                "aud": grant.client_id,
                "iat": iat,
                "at_hash": at_hash,
                "sid": session,
                "sub": sub,
                "auth_time": grant.auth_time,
                "idp": "Xero",
                "xero_userid": user.xero_userid,
                "global_session_id": session,
                "amr": ["pwd"],
            }
            if "email" in grant.scope:
                claims["preferred_username"] = user.email
                claims["email"] = user.email
            if "profile" in grant.scope:
                claims["given_name"] = user.given_name
                claims["family_name"] = user.family_name
            body["id_token"] = key.sign(claims)
        body["access_token"] = access_token
        body["expires_in"] = self.access_token_ttl
        body["token_type"] = "Bearer"  # noqa: S105 - not a secret
        if "offline_access" in grant.scope:
            refresh = secrets.token_hex(32)
            self._refresh[refresh] = _Refresh(grant.id, now)
            body["refresh_token"] = refresh
        body["scope"] = " ".join(grant.scope)
        return body

    # -- revocation -------------------------------------------------------------------------

    def revoke(self, authorization: str | None, form: Mapping[str, str]) -> None:
        """Answer ``POST /connect/revocation``: revoke the grant of a refresh token and remove
        all of that user's connections for the client. Unknown tokens are ignored (RFC 7009).

        :raises OAuthError: ``invalid_client``.
        """
        client = self.authenticate_client(authorization, form)
        token = form.get("token", "")
        with self._lock:
            grant_id: str | None = None
            if token in self._refresh:
                grant_id = self._refresh[token].grant_id
            else:
                access = self._access_record(token)
                grant_id = access.grant_id if access else None
            if grant_id is None:
                return
            grant = self._grants[grant_id]
            if grant.client_id != client.client_id:
                return
            for other in self._grants.values():
                if other.client_id == grant.client_id and other.user_email == grant.user_email:
                    other.revoked = True
            for conn in self._connections_of(grant.client_id, grant.user_email):
                del self.connections[conn.id]

    def _access_record(self, token: str) -> _Access | None:
        claims = signing_key().verify(token)
        if claims is None:
            return None
        return self._access.get(str(claims.get("jti", "")))

    # -- bearer tokens and connections ------------------------------------------------------

    def check_bearer(self, authorization: str | None) -> AccessInfo:
        """The grant behind an ``Authorization: Bearer`` header.

        :raises OAuthError: with ``error`` ``AuthenticationUnsuccessful`` or
            ``TokenExpired: token expired at MM/DD/YYYY HH:MM:SS`` (Xero's problem details).
        """
        if not authorization or not authorization.lower().startswith("bearer "):
            raise OAuthError("AuthenticationUnsuccessful", status=401)
        token = authorization[7:].strip()
        claims = signing_key().verify(token)
        with self._lock:
            record = self._access.get(str(claims.get("jti", ""))) if claims else None
            if claims is None or record is None:
                raise OAuthError("AuthenticationUnsuccessful", status=401)
            grant = self._grants[record.grant_id]
            if grant.revoked:
                raise OAuthError("AuthenticationUnsuccessful", status=401)
        if record.expires_ms <= self.now_ms():
            raise OAuthError(token_expired_detail(record.expires_ms), status=401)
        return AccessInfo(grant.client_id, grant.user_email, frozenset(grant.scope), grant.id)

    def _connection_for(self, client_id: str, email: str, tenant_id: str) -> Connection | None:
        for conn in self.connections.values():
            if (conn.client_id, conn.user_email, conn.tenant_id) == (client_id, email, tenant_id):
                return conn
        return None

    def _connections_of(self, client_id: str, email: str) -> list[Connection]:
        return [
            c
            for c in self.connections.values()
            if c.client_id == client_id and c.user_email == email
        ]

    def list_connections(self, access: AccessInfo, auth_event_id: str = "") -> list[Connection]:
        """The caller's connections, most recently (re)connected first."""
        with self._lock:
            conns = self._connections_of(access.client_id, access.user_email)
        if auth_event_id:
            conns = [c for c in conns if c.auth_event_id == auth_event_id]
        return sorted(conns, key=lambda c: (c.updated_ms, c.created_ms), reverse=True)

    def has_connection(self, access: AccessInfo, tenant_id: str) -> bool:
        """Whether the caller may use this tenant."""
        with self._lock:
            return self._connection_for(access.client_id, access.user_email, tenant_id) is not None

    def delete_connection(self, access: AccessInfo, connection_id: str) -> bool:
        """Disconnect one of the caller's tenants; ``False`` when there is no such connection."""
        with self._lock:
            conn = self.connections.get(connection_id)
            if conn is None or (conn.client_id, conn.user_email) != (
                access.client_id,
                access.user_email,
            ):
                return False
            del self.connections[connection_id]
            return True

    def revoke_tenant(self, tenant_id: str) -> int:
        """Remove every connection to a tenant, as if each user disconnected the app in Xero."""
        with self._lock:
            gone = [cid for cid, c in self.connections.items() if c.tenant_id == tenant_id]
            for cid in gone:
                del self.connections[cid]
        return len(gone)


def token_expired_detail(expires_ms: int) -> str:
    """Xero's ``Detail`` for an expired access token."""
    moment = dt.datetime.fromtimestamp(expires_ms / 1000, tz=dt.UTC)
    return f"TokenExpired: token expired at {moment.strftime('%m/%d/%Y %H:%M:%S')}"
