"""OAuth 2.0 with Xero through Authlib: the authorize URL, the code exchange, refreshing
stored tokens under a lock every worker shares, and revocation.

Xero rotates refresh tokens: each refresh returns a new one and the old one works only
for a 30-minute grace period. Two workers refreshing at once would each spend the same
token, so refreshing happens under a lock held across threads, processes and hosts (a
row lock on the connection in the database, or a Redis lock when Redis is configured),
and a worker that waited for the lock first looks whether the token was already renewed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .clock import utcnow
from .config import Settings
from .crypto import TokenCipher
from .exceptions import AuthExpired, XeroUnavailable
from .models import Connection

logger = logging.getLogger("xero_panel.oauth")

#: Refresh this many seconds before the access token expires (as Xero's SDK does).
REFRESH_MARGIN = 60.0


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the admin, and what to keep in their session for the callback."""

    url: str
    state: str
    code_verifier: str


def _oauth_session(settings: Settings, redirect_uri: str | None = None) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        scope=" ".join(settings.scopes),
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 (a method name)
        code_challenge_method="S256",
    )


def token_url(settings: Settings) -> str:
    """Xero's token endpoint."""
    return f"{settings.identity_url}/connect/token"


def authorization_request(settings: Settings, redirect_uri: str) -> AuthorizationRequest:
    """Build Xero's authorize URL with a fresh ``state`` and a PKCE S256 challenge."""
    state = generate_token(32)
    verifier = generate_token(64)
    with _oauth_session(settings, redirect_uri) as oauth:
        url, _ = oauth.create_authorization_url(
            f"{settings.login_url}/identity/connect/authorize", state=state, code_verifier=verifier
        )
    return AuthorizationRequest(url=str(url), state=state, code_verifier=verifier)


def exchange_code(
    settings: Settings, *, code: str, redirect_uri: str, code_verifier: str, timeout: float
) -> dict[str, Any]:
    """Trade the callback's code for tokens.

    :raises AuthExpired: Xero refused the code (already used, expired, or wrong verifier).
    :raises XeroUnavailable: Xero could not be reached.
    """
    with _oauth_session(settings, redirect_uri) as oauth:
        try:
            token = oauth.fetch_token(
                token_url(settings),
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                timeout=timeout,
            )
        except OAuthError as exc:
            raise AuthExpired(
                f"Xero did not accept the sign-in ({exc.error}); connect to Xero again."
            ) from None
        except requests.RequestException as exc:
            raise XeroUnavailable(
                "Xero could not be reached to finish connecting; try again.", status=0
            ) from exc
    return dict(token)


def revoke(settings: Settings, refresh_token: str, *, timeout: float) -> bool:
    """Revoke a grant at Xero (all of its connections). True when Xero confirmed it."""
    try:
        response = requests.post(
            f"{settings.identity_url}/connect/revocation",
            data={"token": refresh_token, "token_type_hint": "refresh_token"},
            auth=(settings.client_id, settings.client_secret),
            timeout=timeout,
        )
    except requests.RequestException:
        logger.warning("Xero revocation could not be reached")
        return False
    logger.info("Xero revocation answered %s", response.status_code)
    return response.status_code == 200


class RefreshLock:
    """Serialises token refreshes of one connection across threads, processes and hosts.

    Without Redis it takes a write lock on the connection's row: ``UPDATE`` locks the row
    on PostgreSQL until commit, and on SQLite takes the database's write lock, so a second
    refresher waits until the first has stored the new token. With Redis it takes a
    Redis lock that expires, so a crashed worker cannot hold it forever.

    :param redis_client: the app's :class:`redis.Redis` client, or ``None`` for the row lock.
    :param prefix: put before the lock's key (``XERO_PANEL_REDIS_PREFIX``).
    """

    def __init__(
        self, redis_client: Any = None, *, prefix: str = "xero-panel:", timeout: float = 30.0
    ) -> None:
        self._redis: Any = redis_client
        self._prefix = prefix
        self._timeout = timeout

    @contextlib.contextmanager
    def hold(self, session: Session, connection_id: int) -> Iterator[None]:
        """Hold the lock for ``connection_id`` within ``session``'s transaction."""
        if self._redis is not None:
            lock = self._redis.lock(
                f"{self._prefix}refresh:{connection_id}",
                timeout=self._timeout,
                blocking_timeout=self._timeout,
            )
            if not lock.acquire():
                raise XeroUnavailable(
                    "Another worker is still refreshing the Xero token.", status=0
                )
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    lock.release()
            return
        session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(updated_at=Connection.updated_at)
        )
        yield


class StoredTokens:
    """A :class:`~xero_panel.xero.client.TokenSource` over one connection's encrypted token.

    Every method opens its own short session from ``session_factory`` and commits, so it
    is safe in web workers, CLI commands and background jobs alike.

    :param session_factory: makes a new SQLAlchemy session (bound to the host's engine).
    :param connection_id: the :class:`~xero_panel.models.Connection` row.
    :param on_refresh: called after a successful refresh (tests count them).
    """

    def __init__(
        self,
        *,
        session_factory: Callable[[], Session],
        connection_id: int,
        settings: Settings,
        cipher: TokenCipher,
        lock: RefreshLock,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session_factory = session_factory
        self._connection_id = connection_id
        self._settings = settings
        self._cipher = cipher
        self._lock = lock
        self._clock = clock

    def access_token(self) -> str:
        """A current access token, refreshed first when it expires within a minute."""
        token = self._read()
        if float(token.get("expires_at") or 0) - REFRESH_MARGIN > self._clock():
            return str(token["access_token"])
        return self._refresh(rejected=str(token.get("access_token")))

    def refresh_access_token(self, rejected: str) -> str:
        """Xero said ``rejected`` expired: refresh, unless another worker already did."""
        return self._refresh(rejected=rejected)

    def _read(self) -> dict[str, Any]:
        with self._session_factory() as session:
            connection = session.get(Connection, self._connection_id)
            return self._token_of(connection)

    def _token_of(self, connection: Connection | None) -> dict[str, Any]:
        if connection is None or not connection.token_ciphertext:
            raise AuthExpired("This CRM account is no longer connected to Xero.")
        if connection.status == "needs_reconnect":
            raise AuthExpired("Xero no longer accepts this connection; an admin must reconnect.")
        return self._cipher.decrypt(connection.token_ciphertext)

    def _refresh(self, *, rejected: str) -> str:
        with self._session_factory() as session, self._lock.hold(session, self._connection_id):
            try:
                connection = session.scalars(
                    select(Connection)
                    .where(Connection.id == self._connection_id)
                    .execution_options(populate_existing=True)
                ).first()
                token = self._token_of(connection)
                assert connection is not None
                fresh = float(token.get("expires_at") or 0) - REFRESH_MARGIN > self._clock()
                if token.get("access_token") != rejected and fresh:
                    session.rollback()
                    return str(token["access_token"])  # another worker refreshed it
                new_token = self._call_refresh(session, connection, token)
                connection.token_ciphertext = self._cipher.encrypt(new_token)
                connection.access_expires_at = dt.datetime.fromtimestamp(
                    float(new_token["expires_at"]), dt.UTC
                )
                connection.last_error = None
                connection.last_error_at = None
                session.commit()
                return str(new_token["access_token"])
            except XeroUnavailable as exc:
                session.rollback()
                self._note_refresh_failure(session, str(exc))
                raise
            except BaseException:
                session.rollback()
                raise

    def _note_refresh_failure(self, session: Session, reason: str) -> None:
        """Mark the connection as needing attention: the refresh failed but the grant may
        still be good (Xero unreachable, or its token endpoint erred)."""
        connection = session.get(Connection, self._connection_id)
        if connection is not None and connection.status == "active":
            connection.last_error = f"The Xero token could not be refreshed: {reason}"
            connection.last_error_at = utcnow()
            session.commit()

    def _call_refresh(
        self, session: Session, connection: Connection, token: dict[str, Any]
    ) -> dict[str, Any]:
        refresh_token = token.get("refresh_token")
        if not refresh_token:
            self._mark_needs_reconnect(session, connection, "Xero gave no refresh token.")
        with _oauth_session(self._settings) as oauth:
            try:
                new_token = dict(
                    oauth.refresh_token(
                        token_url(self._settings),
                        refresh_token=refresh_token,
                        timeout=self._settings.http_timeout,
                    )
                )
            except OAuthError as exc:
                if exc.error in ("invalid_grant", "unauthorized_client", "invalid_client"):
                    self._mark_needs_reconnect(
                        session, connection, f"Xero refused to refresh the token ({exc.error})."
                    )
                raise XeroUnavailable(
                    f"Xero's token endpoint answered {exc.error}; try again later.", status=400
                ) from None
            except requests.RequestException as exc:
                # The old refresh token stays valid for Xero's 30-minute grace period,
                # so keep it and try again later.
                raise XeroUnavailable(
                    "Xero could not be reached to refresh the token.", status=0
                ) from exc
        new_token.setdefault("refresh_token", refresh_token)
        if "expires_at" not in new_token:
            new_token["expires_at"] = int(self._clock()) + int(new_token.get("expires_in") or 1800)
        logger.info("refreshed the Xero token of connection %s", self._connection_id)
        return new_token

    def _mark_needs_reconnect(self, session: Session, connection: Connection, reason: str) -> None:
        connection.status = "needs_reconnect"
        connection.last_error = reason
        connection.last_error_at = utcnow()
        session.commit()
        raise AuthExpired(f"{reason} An admin must reconnect Xero.")
