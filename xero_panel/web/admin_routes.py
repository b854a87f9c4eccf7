"""The admin's routes: the Xero integration page, connect, choose organisations and save,
test, refresh and remove.

Every route is for admins of the current CRM account only (others get 403, logged-out
users go to the login page), and every POST checks a CSRF token. :func:`register` adds them
to the plugin's blueprint.
"""

from __future__ import annotations

import time

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ..clock import utcnow
from ..connections import clear_problem, note_problem, offered_tenants, tenants_used_elsewhere
from ..exceptions import AuthExpired, XeroPanelError
from ..health import organisation_health
from ..models import Connection, Organisation, SyncState
from ..oauth import authorization_request, exchange_code
from ..state import get_state
from . import admin_health_routes, admin_remove_routes
from .admin_common import MESSAGES_SESSION_KEY, admin_only, message, to_settings
from .blueprint import PanelError, Viewer, connection_of
from .csrf import csrf_token
from .htmx import add_vary

#: Where the connect flow keeps its state between the redirect to Xero and the callback.
_OAUTH_SESSION_KEY = "xero_panel_oauth"
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
    messages = [tuple(m) for m in session.pop(MESSAGES_SESSION_KEY, [])]
    response = make_response(
        render_template(
            "xero_panel/settings.html",
            connection=connection,
            organisations=organisations,
            sync_states=sync_states,
            offered=offered_tenants(connection) if connection else set(),
            used_elsewhere=tenants_used_elsewhere(db_session, viewer.crm_account),
            health_rows=(
                organisation_health(db_session, connection, state.backends.counter)
                if connection is not None
                else []
            ),
            settings=state.settings,
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
        message(text, level)
        return to_settings()
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
        message(str(exc), "error")
        return to_settings()
    if not connection.organisations:
        message(
            "Xero connected, but the Xero user granted no organisation. Connect again and"
            " choose at least one organisation.",
            "error",
        )
    else:
        message("Connected to Xero. Choose the organisations to use, then press Save.")
        elsewhere = tenants_used_elsewhere(state.panel.db.session(), viewer.crm_account)
        if any(o.tenant_id in elsewhere for o in connection.organisations):
            message(
                "An organisation marked below is also used by another CRM account here."
                " You can use it too; removing Xero here will not affect that account."
            )
    return to_settings()


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
    message(f"Saved. The Xero panel now shows invoices from {names}.")
    return to_settings()


@admin_only
def check_connection(viewer: Viewer) -> BaseResponse:
    """Call Xero once per chosen organisation (``GET /Organisation``) and report the time.
    A failure marks the connection as needing attention (reason and time); a test that
    succeeds for every organisation clears that."""
    state = get_state()
    db_session = state.panel.db.session()
    connection = _active_connection(viewer, allow_needs_reconnect=True)
    failures = []
    for organisation in [o for o in connection.organisations if o.selected]:
        client = state.client_for(connection.id)
        started = time.monotonic()
        try:
            details = client.organisation(organisation.tenant_id)
        except AuthExpired as exc:
            failures.append(f"{organisation.name}: Xero refused the connection. {exc}")
            continue
        except XeroPanelError as exc:
            failures.append(f"{organisation.name}: the test failed. {exc}")
            continue
        elapsed = (time.monotonic() - started) * 1000
        message(f"Connection works: Xero answered for {details.name} in {elapsed:.0f} ms.")
    connection = db_session.get(Connection, connection.id, populate_existing=True) or connection
    for failure in failures:
        message(failure, "error")
    if failures:
        note_problem(connection, "Test connection failed: " + " ".join(failures))
    elif connection.status == "active":
        clear_problem(connection)
    db_session.commit()
    return to_settings()


@admin_only
def refresh_now(viewer: Viewer) -> BaseResponse:
    """Start a sync of every chosen organisation now."""
    connection = _active_connection(viewer)
    for organisation in [o for o in connection.organisations if o.selected]:
        _start_sync(organisation.id, full=False)
    message("A sync with Xero has started; this page shows its progress.")
    return to_settings()


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
    connection.activated_at = connection.activated_at or utcnow()
    connection.reconnect_started_at = None
    return newly_selected


def _active_connection(viewer: Viewer, *, allow_needs_reconnect: bool = False) -> Connection:
    allowed = ("active", "needs_reconnect") if allow_needs_reconnect else ("active",)
    connection = connection_of(viewer.crm_account)
    if connection is None or connection.status not in allowed:
        raise PanelError(400, "Xero is not connected and saved yet: connect to Xero first.")
    return connection


def _start_sync(organisation_id: int, *, full: bool) -> None:
    """Hand a sync of one organisation to the background (the scheduler decides how)."""
    scheduler = get_state().scheduler
    if full:
        scheduler.start_full_sync(organisation_id)
    else:
        scheduler.start_refresh(organisation_id)


def register(bp: Blueprint) -> None:
    """Add the admin's routes to the plugin's blueprint."""
    bp.add_url_rule("/settings", view_func=settings_page, methods=["GET"])
    bp.add_url_rule("/connect", view_func=connect, methods=["POST"])
    bp.add_url_rule("/callback", view_func=callback, methods=["GET"])
    bp.add_url_rule("/save", view_func=save, methods=["POST"])
    # The endpoint stays "test_connection", after the button (templates' url_for use it).
    bp.add_url_rule("/test", "test_connection", view_func=check_connection, methods=["POST"])
    bp.add_url_rule("/refresh", view_func=refresh_now, methods=["POST"])
    admin_remove_routes.register(bp)
    admin_health_routes.register(bp)
