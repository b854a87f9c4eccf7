"""What every admin route shares: the admin check and the settings page's messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..clock import utcnow
from ..health import OrganisationHealth
from ..state import PanelState
from ..sync.webhook_mode import WebhookModes
from .blueprint import PanelError, check_csrf, current_viewer, require_login

F = TypeVar("F", bound=Callable[..., Any])

#: Where the settings page's messages wait for the next page view. The plugin keeps its
#: own list rather than Flask's flashes, so a host layout that shows flashes does not show
#: them twice.
MESSAGES_SESSION_KEY = "xero_panel_messages"
#: The newest few messages, each cut short: the session cookie must stay under what
#: browsers keep (4 KB), however many answers come back before the page shows them.
MAX_MESSAGES = 4
MAX_MESSAGE_LENGTH = 300


def admin_only(view: F) -> F:
    """Login, then a CRM account, then the admin check; POSTs also check CSRF."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        login = require_login()
        if login is not None:
            return login
        viewer = current_viewer()
        if not viewer.is_admin:
            raise PanelError(
                403, "Only an admin of your CRM account can manage the Xero integration."
            )
        if request.method == "POST":
            check_csrf()
        return view(viewer, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def message(text: str, level: str = "info") -> None:
    """Show ``text`` on the settings page's next view."""
    kept = [*session.get(MESSAGES_SESSION_KEY, []), [text[:MAX_MESSAGE_LENGTH], level]]
    session[MESSAGES_SESSION_KEY] = kept[-MAX_MESSAGES:]


#: Until when (epoch seconds) the admin pages follow a sync an admin started (Save,
#: *Refresh now*): the organisations' health reloads itself every 2 s meanwhile.
WATCH_SESSION_KEY = "xero_panel_watch_until"
#: How long the pages follow a sync an admin started, in seconds.
WATCH_FOR = 60.0


def watch_syncs() -> None:
    """Make the admin pages follow the sync just started for the next :data:`WATCH_FOR`
    seconds."""
    session[WATCH_SESSION_KEY] = utcnow().timestamp() + WATCH_FOR


def watching(rows: Iterable[OrganisationHealth]) -> bool:
    """Whether the admin pages should reload the organisations' health: a first sync runs,
    or an admin started a sync in the last minute."""
    if any(row.state.reason == "first-sync" for row in rows):
        return True
    until = session.get(WATCH_SESSION_KEY)
    return isinstance(until, int | float) and until > utcnow().timestamp()


def to_settings() -> BaseResponse:
    return redirect(url_for("xero_panel.settings_page"))


def webhook_modes(state: PanelState) -> WebhookModes:
    """The app's webhook-first rules, for the health rows' mode (webhooks or polling)."""
    return WebhookModes.from_config(
        current_app.config, enabled=state.settings.webhook_key is not None
    )
