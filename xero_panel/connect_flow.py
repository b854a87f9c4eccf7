"""Connecting a CRM account to Xero, start to finish: :class:`ConnectFlow`.

The admin's connect is three steps, each one method, which the admin routes call in turn:

1. :meth:`ConnectFlow.begin` (*Connect to Xero*): Xero's authorize URL with a fresh
   ``state`` and a PKCE challenge, and the :class:`PendingConnect` the browser's session
   keeps until Xero sends the admin back.
2. :meth:`ConnectFlow.complete` (Xero's callback): checks the answer against the pending
   connect (``state`` first, also for answers carrying an ``error``), trades the code for
   tokens and stores the grant with its organisations, ``pending`` until the admin saves
   (or, for a reconnect, still active so the panel keeps its cache).
3. :meth:`ConnectFlow.save` (*Save*): the chosen organisations become the ones in use, the
   connection active, and the first sync of each newly chosen organisation starts.

:meth:`ConnectFlow.store` stores a token however it was obtained (step 2's storing, and
:meth:`~xero_panel.XeroPanel.store_connection` for hosts and the demo). Plain Python: the
routes keep the pending connect in Flask's session and turn :class:`ConnectRefused` into a
400 with its text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from .clock import utcnow
from .config import Settings
from .connections import IssuedToken, get_connection, save_connection, tenants_used_elsewhere
from .crypto import TokenCipher
from .exceptions import XeroPanelError
from .models import Connection, Organisation
from .oauth import authorization_request, exchange_code
from .sync.scheduling import Scheduler
from .xero.client import TokenSource, XeroClient

__all__ = [
    "CALLBACK_ERRORS",
    "Completed",
    "ConnectFlow",
    "ConnectRefused",
    "Notice",
    "PendingConnect",
    "Saved",
]

logger = logging.getLogger("xero_panel.connect")

#: A message for the integration page: its text and level (``info`` or ``error``).
Notice = tuple[str, str]

#: What the integration page says for each ``error`` Xero's sign-in sends back (RFC 6749,
#: section 4.1.2.1); any other code gets :data:`CALLBACK_ERROR_OTHER`. Xero's own words
#: (``error_description``) are never shown.
CALLBACK_ERRORS: dict[str, Notice] = {
    "access_denied": (
        "Connecting to Xero was cancelled on Xero's page; nothing was changed.",
        "info",
    ),
    "invalid_scope": (
        "Xero refused the permissions the panel asks for (XERO_PANEL_SCOPES); nothing was changed.",
        "error",
    ),
    "unauthorized_client": (
        "Xero refused this app's sign-in request (check its client id and redirect URI);"
        " nothing was changed.",
        "error",
    ),
    "server_error": ("Xero could not finish the sign-in; try again in a few minutes.", "error"),
    "temporarily_unavailable": (
        "Xero could not finish the sign-in; try again in a few minutes.",
        "error",
    ),
}
CALLBACK_ERROR_OTHER: Notice = (
    "Xero did not connect; nothing was changed. Start again with Connect to Xero.",
    "error",
)


class ConnectRefused(Exception):
    """A connect step refused what it was given; the text says why and what to do."""


@dataclass(frozen=True)
class PendingConnect:
    """What the browser's session keeps between :meth:`ConnectFlow.begin` and
    :meth:`ConnectFlow.complete`."""

    crm_account: str
    state: str
    code_verifier: str

    def as_dict(self) -> dict[str, str]:
        return {
            "crm_account": self.crm_account,
            "state": self.state,
            "code_verifier": self.code_verifier,
        }

    @classmethod
    def from_dict(cls, data: Any) -> PendingConnect | None:
        """The pending connect kept in a session (``None`` when there is none, or it is not
        one)."""
        if not isinstance(data, Mapping):
            return None
        values = [data.get(k) for k in ("crm_account", "state", "code_verifier")]
        strings = [v for v in values if isinstance(v, str) and v]
        if len(strings) != len(values):
            return None
        return cls(*strings)


@dataclass
class Completed:
    """What :meth:`ConnectFlow.complete` did: the connection stored (``None`` when nothing
    changed) and what to tell the admin."""

    connection: Connection | None
    notices: list[Notice] = field(default_factory=list)


@dataclass
class Saved:
    """What :meth:`ConnectFlow.save` did: the organisations in use, and those of them whose
    first sync it started."""

    chosen: list[Organisation]
    first_sync: list[Organisation]


class ConnectFlow:
    """The admin's connect, start to finish (see the module's docs).

    :param settings: the plugin's settings (Xero's URLs, client id and secret, scopes).
    :param cipher: encrypts the tokens at rest.
    :param client: a Xero client for a token (on the app's rate budget).
    :param scheduler: starts each newly chosen organisation's first sync.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        cipher: TokenCipher,
        client: Callable[[TokenSource], XeroClient],
        scheduler: Scheduler,
        now: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.cipher = cipher
        self.client = client
        self.scheduler = scheduler
        self.now = now

    def begin(self, crm_account: str, redirect_uri: str) -> tuple[str, PendingConnect]:
        """Step 1: the URL of Xero's sign-in and consent page, and what to keep until the
        callback."""
        auth = authorization_request(self.settings, redirect_uri)
        return auth.url, PendingConnect(crm_account, auth.state, auth.code_verifier)

    def complete(
        self,
        session: Session,
        *,
        crm_account: str,
        pending: PendingConnect | None,
        answer: Mapping[str, str],
        redirect_uri: str,
    ) -> Completed:
        """Step 2: Xero's answer (the callback's query) for a pending connect. Commits.

        :raises ConnectRefused: the answer matches no connect this browser began for this CRM
            account (replayed, expired, forged), or carries no code.
        """
        state = answer.get("state")
        if pending is None or pending.crm_account != crm_account or not state:
            raise ConnectRefused(_NOT_OURS)
        if state != pending.state:
            raise ConnectRefused(_NOT_OURS)
        if "error" in answer:
            return Completed(None, [CALLBACK_ERRORS.get(answer["error"], CALLBACK_ERROR_OTHER)])
        code = answer.get("code")
        if not code:
            raise ConnectRefused(
                "Xero sent no authorisation code back. Start again with Connect to Xero."
            )
        try:
            token = exchange_code(
                self.settings,
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=pending.code_verifier,
                timeout=self.settings.http_timeout,
            )
            connection = self.store(session, crm_account, token, activate=False)
        except XeroPanelError as exc:
            session.rollback()
            return Completed(None, [(str(exc), "error")])
        except DataError:
            # What Xero sent about the organisations cannot be stored: say so, never a 500.
            session.rollback()
            logger.exception("Could not store the Xero grant of CRM account %s", crm_account)
            notice = (
                "Xero connected, but xero-panel could not store what Xero sent about the"
                " organisations; nothing was changed. Try again, and report this if it stays.",
                "error",
            )
            return Completed(None, [notice])
        if not connection.organisations:
            notice = (
                "Xero connected, but the Xero user granted no organisation. Connect again and"
                " choose at least one organisation.",
                "error",
            )
            return Completed(connection, [notice])
        notices: list[Notice] = [
            ("Connected to Xero. Choose the organisations to use, then press Save.", "info")
        ]
        elsewhere = tenants_used_elsewhere(session, crm_account)
        if any(o.tenant_id in elsewhere for o in connection.organisations):
            notices.append(
                (
                    "An organisation marked below is also used by another CRM account here."
                    " You can use it too; removing Xero here will not affect that account.",
                    "info",
                )
            )
        return Completed(connection, notices)

    def save(self, session: Session, crm_account: str, tenant_ids: Iterable[str]) -> Saved:
        """Step 3: use these organisations (all of them when the grant has one and none is
        named), make the connection active, commit, and start the first sync of each newly
        chosen organisation; after a reconnect, a refresh of the others.

        :return: the organisations in use, and those whose first sync started.
        :raises ConnectRefused: there is no connection yet, or the choice is empty or names
            an organisation the grant does not cover.
        """
        connection = get_connection(session, crm_account)
        if connection is None:
            raise ConnectRefused("There is no Xero connection to save yet: connect to Xero first.")
        reconnected = connection.reconnect_started_at is not None
        newly_chosen = self._choose(connection, set(tenant_ids))
        session.commit()
        self._start_first_syncs(newly_chosen)
        chosen = [o for o in connection.organisations if o.selected]
        if reconnected:  # the new grant's first call: it ends the old grant's trouble
            for organisation in chosen:
                if organisation not in newly_chosen:
                    self.scheduler.start_refresh(organisation.id)
        return Saved(chosen, newly_chosen)

    def store(
        self,
        session: Session,
        crm_account: str,
        token: dict[str, Any],
        *,
        tenant_ids: Iterable[str] | None = None,
        activate: bool = True,
    ) -> Connection:
        """Store a Xero token response as the CRM account's connection and commit (see
        :meth:`~xero_panel.XeroPanel.store_connection`); with ``activate``, start the first
        sync of each chosen organisation, as *Save* does."""
        connection = save_connection(
            session,
            crm_account=crm_account,
            token=token,
            cipher=self.cipher,
            client=self.client(IssuedToken(token)),
            tenant_ids=tenant_ids,
            activate=activate,
            now=self.now(),
        )
        session.commit()
        if activate:
            self._start_first_syncs([o for o in connection.organisations if o.selected])
        return connection

    def _choose(self, connection: Connection, tenant_ids: set[str]) -> list[Organisation]:
        """Make the connection active with these organisations chosen; those newly chosen,
        whose first sync is due. The caller commits."""
        if len(connection.organisations) == 1 and not tenant_ids:
            tenant_ids = {connection.organisations[0].tenant_id}
        if tenant_ids - {o.tenant_id for o in connection.organisations}:
            raise ConnectRefused("That organisation is not part of this Xero connection.")
        if not tenant_ids:
            raise ConnectRefused("Choose at least one Xero organisation, then press Save.")
        newly_chosen = []
        for organisation in connection.organisations:
            was = organisation.selected and connection.status == "active"
            organisation.selected = organisation.tenant_id in tenant_ids
            if organisation.selected and not was:
                newly_chosen.append(organisation)
        connection.status = "active"
        connection.activated_at = connection.activated_at or self.now()
        connection.reconnect_started_at = None
        return newly_chosen

    def _start_first_syncs(self, organisations: Iterable[Organisation]) -> None:
        for organisation in organisations:
            self.scheduler.start_full_sync(organisation.id)


_NOT_OURS = (
    "This sign-in answer from Xero does not match a connect request from this"
    " browser (it was already used, or it expired). Start again with Connect to Xero."
)
