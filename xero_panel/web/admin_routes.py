"""The admin's routes: the Xero integration page, connect, choose organisations and save,
test, refresh and remove.

Every route is for admins of the current CRM account only (others get 403, logged-out
users go to the login page), and every POST checks a CSRF token. :func:`register` adds them
to the plugin's blueprint.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from ..connections import delete_account_data
from ..exceptions import AuthExpired, XeroPanelError
from ..models import Connection, Organisation, Pin, SyncState
from ..oauth import authorization_request, exchange_code, revoke
from ..state import get_state
from .blueprint import (
    PanelError,
    Viewer,
    check_csrf,
    connection_of,
    current_viewer,
    require_login,
)
from .csrf import csrf_token
from .htmx import add_vary

F = TypeVar("F", bound=Callable[..., Any])

#: Where the connect flow keeps its state between the redirect to Xero and the callback.
_OAUTH_SESSION_KEY = "xero_panel_oauth"
#: Where the settings page's messages wait for the next page view. The plugin keeps its
#: own list rather than Flask's flashes, so a host layout that shows flashes does not show
#: them twice.
_MESSAGES_SESSION_KEY = "xero_panel_messages"

_MAX_MESSAGES = 4
_MAX_MESSAGE_LENGTH = 300
#: What the integration page says for each ``error`` Xero's sign-in sends back (RFC 6749,
#: section 4.1.2.1); any other code gets :data:`_CALLBACK_ERROR_OTHER`.
_CALLBACK_ERRORS: dict[str, tuple[str, str]] = {
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
_CALLBACK_ERROR_OTHER = (
    "Xero did not connect; nothing was changed. Start again with Connect to Xero.",
    "error",
)


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


def _message(text: str, level: str = "info") -> None:
    # The newest few, each cut short: the session cookie must stay under what browsers
    # keep (4 KB), however many answers come back before the page shows them.
    kept = [*session.get(_MESSAGES_SESSION_KEY, []), [text[:_MAX_MESSAGE_LENGTH], level]]
    session[_MESSAGES_SESSION_KEY] = kept[-_MAX_MESSAGES:]


def _to_settings() -> BaseResponse:
    return redirect(url_for("xero_panel.settings_page"))


def _redirect_uri() -> str:
    configured = get_state().settings.redirect_uri
    return configured or url_for("xero_panel.callback", _external=True)


@admin_only
def settings_page(viewer: Viewer) -> BaseResponse:
    """The Xero integration page: connect, choose organisations, save, test, refresh, remove."""
    state = get_state()
    db_session = state.panel.db.session()
    connection = connection_of(viewer.crm_account)
    organisations = list(connection.organisations) if connection else []
    sync_states = {
        s.organisation_id: s
        for s in db_session.scalars(
            select(SyncState).where(SyncState.organisation_id.in_([o.id for o in organisations]))
        )
    }
    messages = [tuple(m) for m in session.pop(_MESSAGES_SESSION_KEY, [])]
    response = make_response(
        render_template(
            "xero_panel/settings.html",
            connection=connection,
            organisations=organisations,
            sync_states=sync_states,
            messages=messages,
            viewer=viewer,
            xp_csrf_token=csrf_token(),
        )
    )
    return add_vary(response)


@admin_only
def connect(viewer: Viewer) -> BaseResponse:
    """Send the admin to Xero's sign-in and consent page."""
    auth = authorization_request(get_state().settings, _redirect_uri())
    session[_OAUTH_SESSION_KEY] = {
        "state": auth.state,
        "code_verifier": auth.code_verifier,
        "crm_account": viewer.crm_account,
    }
    return redirect(auth.url)


@admin_only
def callback(viewer: Viewer) -> BaseResponse:
    """Where Xero sends the admin back: check ``state`` (first, for answers with an
    ``error`` too), trade the code for tokens, and store the grant as pending until the
    admin chooses organisations and saves. An ``error`` is shown from
    :data:`_CALLBACK_ERRORS`, never as sent."""
    pending = session.pop(_OAUTH_SESSION_KEY, None)
    state = get_state()
    if (
        not pending
        or pending.get("crm_account") != viewer.crm_account
        or not request.args.get("state")
        or request.args.get("state") != pending.get("state")
    ):
        raise PanelError(
            400,
            "This sign-in answer from Xero does not match a connect request from this"
            " browser (it was already used, or it expired). Start again with Connect to Xero.",
        )
    if "error" in request.args:
        # Only the error's code picks a message; the text Xero (or whoever made the link)
        # sent in error= or error_description is never shown.
        text, level = _CALLBACK_ERRORS.get(request.args["error"], _CALLBACK_ERROR_OTHER)
        _message(text, level)
        return _to_settings()
    code = request.args.get("code")
    if not code:
        raise PanelError(
            400, "Xero sent no authorisation code back. Start again with Connect to Xero."
        )
    try:
        token = exchange_code(
            state.settings,
            code=code,
            redirect_uri=_redirect_uri(),
            code_verifier=str(pending["code_verifier"]),
            timeout=state.settings.http_timeout,
        )
        connection = state.panel.store_connection(viewer.crm_account, token, activate=False)
    except XeroPanelError as exc:
        _message(str(exc), "error")
        return _to_settings()
    if not connection.organisations:
        _message(
            "Xero connected, but the Xero user granted no organisation. Connect again and"
            " choose at least one organisation.",
            "error",
        )
    else:
        _message("Connected to Xero. Choose the organisations to use, then press Save.")
    return _to_settings()


@admin_only
def save(viewer: Viewer) -> BaseResponse:
    """Activate the connection with the chosen organisations and start the first sync."""
    state = get_state()
    db_session = state.panel.db.session()
    connection = connection_of(viewer.crm_account)
    if connection is None:
        raise PanelError(400, "There is no Xero connection to save yet: connect to Xero first.")
    newly_selected = _activate(connection, set(request.form.getlist("tenant")))
    db_session.commit()
    for organisation in newly_selected:
        _start_sync(organisation.id, full=True)
    names = ", ".join(o.name for o in connection.organisations if o.selected)
    _message(f"Saved. The Xero panel now shows invoices from {names}.")
    return _to_settings()


@admin_only
def test_connection(viewer: Viewer) -> BaseResponse:
    """Call Xero once per chosen organisation (``GET /Organisation``) and report the time."""
    state = get_state()
    connection = _active_connection(viewer, allow_needs_reconnect=True)
    for organisation in [o for o in connection.organisations if o.selected]:
        client = state.client_for(connection.id)
        started = time.monotonic()
        try:
            details = client.organisation(organisation.tenant_id)
        except AuthExpired as exc:
            _message(f"{organisation.name}: Xero refused the connection. {exc}", "error")
            continue
        except XeroPanelError as exc:
            _message(f"{organisation.name}: the test failed. {exc}", "error")
            continue
        elapsed = (time.monotonic() - started) * 1000
        _message(f"Connection works: Xero answered for {details.name} in {elapsed:.0f} ms.")
    return _to_settings()


@admin_only
def refresh_now(viewer: Viewer) -> BaseResponse:
    """Start a sync of every chosen organisation now."""
    connection = _active_connection(viewer)
    for organisation in [o for o in connection.organisations if o.selected]:
        _start_sync(organisation.id, full=False)
    _message("A sync with Xero has started; this page shows its progress.")
    return _to_settings()


@admin_only
def remove_confirm(viewer: Viewer) -> BaseResponse:
    """Ask for confirmation, saying what removal deletes (pins included)."""
    db_session = get_state().panel.db.session()
    connection = connection_of(viewer.crm_account)
    if connection is None:
        return _to_settings()
    pins = db_session.scalar(
        select(func.count()).select_from(Pin).where(Pin.crm_account == viewer.crm_account)
    )
    return add_vary(
        make_response(
            render_template(
                "xero_panel/remove.html",
                connection=connection,
                pin_count=pins or 0,
                xp_csrf_token=csrf_token(),
            )
        )
    )


@admin_only
def remove(viewer: Viewer) -> BaseResponse:
    """Revoke the grant at Xero, then delete the tokens and every cached row of this CRM
    account, pins included. The local removal happens even when Xero cannot be reached."""
    state = get_state()
    db_session = state.panel.db.session()
    connection = connection_of(viewer.crm_account)
    if connection is None:
        return _to_settings()
    confirmed_at_xero = _revoke_at_xero(connection)
    delete_account_data(db_session, viewer.crm_account)
    db_session.commit()
    if confirmed_at_xero:
        _message("Xero was removed: the grant is revoked at Xero and its data deleted here.")
    else:
        _message(
            "Xero was removed here and its data deleted, but Xero could not confirm the"
            " revocation. To be sure, remove the app in Xero under Settings > Connected apps.",
            "warning",
        )
    return _to_settings()


def _activate(connection: Connection, tenant_ids: set[str]) -> list[Organisation]:
    """Make the connection active with these organisations chosen (all of them when
    it has one and none is named); returns those newly chosen, whose first sync is due.
    The caller commits. A tenant not in the connection, or none at all, is a 400."""
    if len(connection.organisations) == 1 and not tenant_ids:
        tenant_ids = {connection.organisations[0].tenant_id}
    if tenant_ids - {o.tenant_id for o in connection.organisations}:
        raise PanelError(400, "That organisation is not part of this Xero connection.")
    if not tenant_ids:
        raise PanelError(400, "Choose at least one Xero organisation, then press Save.")
    newly_selected = []
    for organisation in connection.organisations:
        was = organisation.selected and connection.status == "active"
        organisation.selected = organisation.tenant_id in tenant_ids
        if organisation.selected and not was:
            newly_selected.append(organisation)
    connection.status = "active"
    connection.activated_at = connection.activated_at or dt.datetime.now(dt.UTC)
    return newly_selected


def _active_connection(viewer: Viewer, *, allow_needs_reconnect: bool = False) -> Connection:
    allowed = ("active", "needs_reconnect") if allow_needs_reconnect else ("active",)
    connection = connection_of(viewer.crm_account)
    if connection is None or connection.status not in allowed:
        raise PanelError(400, "Xero is not connected and saved yet: connect to Xero first.")
    return connection


def _revoke_at_xero(connection: Connection) -> bool:
    """Disconnect each organisation and revoke the refresh token; False if anything could
    not be confirmed (Xero unreachable, token unreadable)."""
    state = get_state()
    try:
        token = state.cipher.decrypt(connection.token_ciphertext or "")
    except (AuthExpired, ValueError):
        return False
    client = state.client_for(connection.id)
    client.max_retries = 0
    confirmed = True
    for organisation in connection.organisations:
        if not organisation.xero_connection_id:
            continue
        try:
            client.delete_connection(organisation.xero_connection_id)
        except XeroPanelError:
            confirmed = False
    refresh_token = token.get("refresh_token")
    if not refresh_token or not revoke(
        state.settings, str(refresh_token), timeout=min(5.0, state.settings.http_timeout)
    ):
        confirmed = False
    return confirmed


def _start_sync(organisation_id: int, *, full: bool) -> None:
    """Hand a sync of one organisation to the background (the sync service decides how)."""
    service = get_state().scheduler
    if full:
        service.start_full_sync(organisation_id)
    else:
        service.start_refresh(organisation_id)


def register(bp: Blueprint) -> None:
    """Add the admin's routes to the plugin's blueprint."""
    bp.add_url_rule("/settings", view_func=settings_page, methods=["GET"])
    bp.add_url_rule("/connect", view_func=connect, methods=["POST"])
    bp.add_url_rule("/callback", view_func=callback, methods=["GET"])
    bp.add_url_rule("/save", view_func=save, methods=["POST"])
    bp.add_url_rule("/test", view_func=test_connection, methods=["POST"])
    bp.add_url_rule("/refresh", view_func=refresh_now, methods=["POST"])
    bp.add_url_rule("/remove", view_func=remove_confirm, methods=["GET"])
    bp.add_url_rule("/remove", view_func=remove, methods=["POST"])
