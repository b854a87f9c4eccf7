"""The identity server's operations on an emulator's state: the authorize flow (login,
consent, codes), the token and revocation grants, bearer tokens and ``/connections``.

:class:`IdentityOperations` is a part of :class:`~xero_emulator.backend.XeroBackend`; the
views call these methods rather than the :class:`~.identity.Identity` behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .connections import Connection
from .faults import Fault, FaultBook
from .identity import Identity
from .oauth import AccessInfo, AuthorizeRequest
from .seed import UserSpec
from .stats import CallStats

__all__ = ["IdentityOperations"]


class IdentityOperations:
    """What the identity server's views do with the emulator's state."""

    identity: Identity
    faults: FaultBook
    calls: CallStats

    def count_identity_call(self, endpoint: str) -> None:
        """Count one call to an identity endpoint (``authorize``, ``token``, ...)."""
        self.calls.count_identity(endpoint)

    def identity_call(self, endpoint: str) -> Fault | None:
        """Count one call to an identity endpoint and take the injected fault that matches
        it, if any."""
        self.calls.count_identity(endpoint)
        return self.faults.take(endpoint, None, api=False)

    def authenticate(self, authorization: str | None) -> AccessInfo:
        """The grant behind an ``Authorization: Bearer`` header. :raises OAuthError:"""
        return self.identity.check_bearer(authorization)

    # -- the authorize flow -----------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> AuthorizeRequest:
        """Validate an authorize request's parameters. :raises OAuthError:"""
        return self.identity.check_authorize(params)

    def login(self, email: str, password: str) -> UserSpec | None:
        """The user with these credentials, or ``None``."""
        return self.identity.login(email, password)

    def new_login_ticket(self, user: UserSpec) -> str:
        """A ticket that carries the logged-in user from the login form to consent."""
        return self.identity.new_login_ticket(user)

    def user_for_ticket(self, ticket: str) -> UserSpec | None:
        """The user a login ticket names, or ``None`` when it is unknown or stale."""
        return self.identity.user_for_ticket(ticket)

    def grantable_tenants(self, email: str) -> list[tuple[str, str]]:
        """``(tenantId, name)`` of every tenant the user can connect, in seed order."""
        user = self.identity.users[email.lower()]
        return [(tid, self.identity.tenant_names[tid][0]) for tid in user.tenants]

    def connect(self, client_id: str, user: UserSpec, tenant_ids: Iterable[str]) -> str:
        """Connect the user's chosen tenants to the client; returns the auth event ID."""
        return self.identity.connect(client_id, user, tenant_ids)

    def new_code(self, request: AuthorizeRequest, user: UserSpec, auth_event_id: str) -> str:
        """An authorization code for the consented request."""
        return self.identity.new_code(request, user, auth_event_id)

    # -- tokens -----------------------------------------------------------------------------

    def token(
        self, authorization: str | None, form: Mapping[str, str], issuer: str
    ) -> dict[str, Any]:
        """The token endpoint's answer to a grant. :raises OAuthError:"""
        return self.identity.token(authorization, form, issuer)

    def revoke(self, authorization: str | None, form: Mapping[str, str]) -> None:
        """Revoke a refresh token's grant. :raises OAuthError:"""
        self.identity.revoke(authorization, form)

    # -- /connections -----------------------------------------------------------------------

    def connections_of(self, access: AccessInfo, auth_event_id: str = "") -> list[Connection]:
        """The caller's connections, most recent first (only one auth event's, if given)."""
        return self.identity.book.of_user(access.client_id, access.user_email, auth_event_id)

    def delete_connection(self, access: AccessInfo, connection_id: str) -> bool:
        """Disconnect one of the caller's connections; ``False`` when it is not theirs."""
        return self.identity.book.delete(access.client_id, access.user_email, connection_id)
