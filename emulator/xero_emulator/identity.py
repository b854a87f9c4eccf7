"""Xero's identity server, emulated: the state behind OAuth 2.0 (clients, users, login tickets,
codes, grants, refresh and access tokens) and the connections it creates.

The stateless rules live in :mod:`.oauth`, the token claims in :mod:`.tokens`, the connections
in :mod:`.connections`; :mod:`.views.identity` maps HTTP requests onto this state. The emulator
keeps a record of each token so that revocation and expiry are enforced.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .connections import Connection, ConnectionBook
from .oauth import (
    AccessInfo,
    AuthorizeRequest,
    OAuthError,
    authenticate_client,
    check_authorize,
    check_scopes,
    pkce_matches,
    token_expired_detail,
)
from .seed import ClientSpec, UserSpec
from .tokens import mint, signing_key

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "REFRESH_GRACE_SECONDS",
    "Identity",
]

DEMO_CLIENT_ID = "xero-panel-demo"
DEMO_CLIENT_SECRET = "xero-panel-demo-secret"  # noqa: S105 - a public demo value, by design

#: Xero lets the previous refresh token be retried for 30 minutes after a rotation.
REFRESH_GRACE_SECONDS = 30 * 60
#: An unused refresh token expires after 60 days.
REFRESH_LIFETIME_SECONDS = 60 * 86_400
CODE_LIFETIME_SECONDS = 300
LOGIN_TICKET_SECONDS = 600


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
        self.book = ConnectionBook(tenant_names, self._lock)
        self._codes: dict[str, _Code] = {}
        self._tickets: dict[str, tuple[str, int]] = {}
        self._grants: dict[str, _Grant] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._access: dict[str, _Access] = {}

    @property
    def connections(self) -> dict[str, Connection]:
        """Every connection, by ID."""
        return self.book.by_id

    # -- authorize ---------------------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """Check an authorize request (see :func:`.oauth.check_authorize`)."""
        return check_authorize(self.clients, params)

    def login(self, email: str, password: str) -> UserSpec | None:
        """The user with these credentials, or ``None``."""
        user = self.users.get(email.strip().lower())
        if user is None or not secrets.compare_digest(user.password, password):
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
        tenant_ids = list(tenant_ids)
        for tenant_id in tenant_ids:
            if tenant_id not in user.tenants:
                raise OAuthError("access_denied", f"user cannot grant {tenant_id}", 302)
        auth_event_id = str(uuid.uuid4())
        self.book.connect(client_id, user.email.lower(), tenant_ids, auth_event_id, self.now_ms())
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

    def token(
        self, authorization: str | None, form: Mapping[str, str], issuer: str
    ) -> dict[str, Any]:
        """Answer ``POST /connect/token``. :raises OAuthError: on any failure."""
        client = authenticate_client(self.clients, authorization, form)
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
            if code.code_challenge and not pkce_matches(
                form.get("code_verifier", ""), code.code_challenge
            ):
                raise OAuthError("invalid_grant", "invalid code_verifier")
            return self._grant_and_issue(
                client.client_id, code.user_email, code.scope, code.auth_event_id, issuer
            )

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
            if not self.book.of_user(grant.client_id, grant.user_email):
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
        scopes = check_scopes(scope.split())
        auth_event_id = self.connect(client_id, user, tenant_ids)
        with self._lock:
            return self._grant_and_issue(
                client_id, user.email.lower(), scopes, auth_event_id, issuer
            )

    def _grant_and_issue(
        self,
        client_id: str,
        email: str,
        scope: tuple[str, ...],
        auth_event_id: str,
        issuer: str,
    ) -> dict[str, Any]:
        grant = _Grant(
            str(uuid.uuid4()), client_id, email, scope, auth_event_id, self.now_ms() // 1000
        )
        self._grants[grant.id] = grant
        return self._issue(grant, issuer)

    def _issue(self, grant: _Grant, issuer: str) -> dict[str, Any]:
        now = self.now_ms()
        minted = mint(
            self.users[grant.user_email],
            grant.client_id,
            grant.scope,
            grant_id=grant.id,
            auth_event_id=grant.auth_event_id,
            auth_time=grant.auth_time,
            issuer=issuer,
            now_s=now // 1000,
            ttl=self.access_token_ttl,
        )
        self._access[minted.jti] = _Access(grant.id, minted.expires_s * 1000)
        body: dict[str, Any] = {}
        if minted.id_token is not None:
            body["id_token"] = minted.id_token
        body["access_token"] = minted.access_token
        body["expires_in"] = self.access_token_ttl
        body["token_type"] = "Bearer"  # noqa: S105 - not a secret
        if "offline_access" in grant.scope:
            refresh = secrets.token_hex(32)
            self._refresh[refresh] = _Refresh(grant.id, now)
            body["refresh_token"] = refresh
        body["scope"] = " ".join(grant.scope)
        return body

    # -- revocation and bearer tokens -------------------------------------------------------

    def revoke(self, authorization: str | None, form: Mapping[str, str]) -> None:
        """Answer ``POST /connect/revocation``: revoke the grant of a refresh token and remove
        all of that user's connections for the client. Unknown tokens are ignored (RFC 7009).

        :raises OAuthError: ``invalid_client``.
        """
        client = authenticate_client(self.clients, authorization, form)
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
            self.book.delete_user(grant.client_id, grant.user_email)

    def _access_record(self, token: str) -> _Access | None:
        claims = signing_key().verify(token)
        if claims is None:
            return None
        return self._access.get(str(claims.get("jti", "")))

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
