"""The plugin's per-app state: what :meth:`~xero_panel.XeroPanel.init_app` builds and every
route, CLI command and background job reads through :func:`get_state`.

Web modules, ``cli`` and ``jobs`` import this module, never ``extension``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app
from sqlalchemy.orm import Session

from .backends import Backends
from .config import Settings
from .connect_flow import ConnectFlow
from .crypto import TokenCipher
from .oauth import StoredTokens
from .records import CRMRecord
from .sync.scheduling import CacheOnlyScheduler, Scheduler
from .xero.client import TokenSource, XeroClient

__all__ = ["EXTENSION_NAME", "PanelHooks", "PanelState", "get_state"]

#: The key of the plugin's state in ``app.extensions``.
EXTENSION_NAME = "xero_panel"


class PanelHooks(Protocol):
    """What the routes need of the :class:`~xero_panel.XeroPanel` object: the host's
    database and the hooks it registered."""

    db: Any

    def load_record(self, record_type: str, record_id: str) -> CRMRecord | None: ...

    def current_account(self) -> str | None: ...

    def is_admin(self) -> bool: ...

    def may_link(self) -> bool: ...

    def current_locale(self) -> str: ...

    def list_records(self, record_type: str) -> list[tuple[str, CRMRecord]] | None: ...


@dataclass
class PanelState:
    """What :meth:`~xero_panel.XeroPanel.init_app` keeps in ``app.extensions["xero_panel"]``.

    :ivar panel: the extension object (the host's hooks and database).
    :ivar backends: the app's Redis client (or none), locks, rate budget and call counter.
    :ivar scheduler: decides when Xero is called; init_app puts the
        :class:`~xero_panel.sync.scheduler.SyncScheduler` here.

    :meta private:
    """

    panel: PanelHooks
    settings: Settings
    cipher: TokenCipher
    backends: Backends
    scheduler: Scheduler = field(default_factory=CacheOnlyScheduler)

    def session_factory(self) -> Session:
        """A new session on the host's engine, for work outside the request's session
        (token refreshes, background sync). Needs an app context."""
        return Session(bind=self.panel.db.engine, expire_on_commit=False)

    def client_for(self, connection_id: int) -> XeroClient:
        """A Xero client for a stored connection: it reads the encrypted token and
        refreshes it under the backends' refresh lock when it expires or Xero says so."""
        return self.client(
            StoredTokens(
                session_factory=self.session_factory,
                connection_id=connection_id,
                settings=self.settings,
                cipher=self.cipher,
                lock=self.backends.refresh_lock,
            )
        )

    def connect_flow(self) -> ConnectFlow:
        """The admin's connect (begin, complete, save) on this app's settings, cipher, Xero
        clients and scheduler."""
        return ConnectFlow(
            settings=self.settings, cipher=self.cipher, client=self.client, scheduler=self.scheduler
        )

    def client(self, tokens: TokenSource) -> XeroClient:
        """A Xero client for one connection's tokens, on the app's rate budget."""
        return XeroClient(
            tokens=tokens,
            budget=self.backends.budget,
            api_url=self.settings.api_url,
            timeout=(min(5.0, self.settings.http_timeout), self.settings.http_timeout),
        )


def get_state(app: Flask | None = None) -> PanelState:
    """The plugin's state on ``app`` (default: the current app).

    :meta private:
    """
    app = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        state = app.extensions[EXTENSION_NAME]
    except KeyError:
        raise RuntimeError(
            "xero-panel is not set up on this app: did you call XeroPanel.init_app(app)?"
        ) from None
    assert isinstance(state, PanelState)
    return state
