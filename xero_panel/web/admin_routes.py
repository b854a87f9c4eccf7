"""The admin's routes: the Xero integration page, connect, choose organisations and save,
test, refresh and remove.

Every route is for admins of the current CRM account only (others get 403, logged-out
users go to the login page), and every POST checks a CSRF token. :func:`register` adds them
to the plugin's blueprint.
"""

from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ..clock import utcnow
from ..connect_flow import ConnectRefused, PendingConnect
from ..connections import offered_tenants, tenants_used_elsewhere
from ..credentials import NOT_CONFIGURED
from ..exceptions import XeroPanelError
from ..health import LIMITS, organisation_health
from ..models import Connection, SyncState
from ..state import get_state
from ..sync.state import record_failure, record_success
from . import admin_health_routes, admin_remove_routes
from .admin_common import (
    MESSAGES_SESSION_KEY,
    admin_only,
    message,
    to_settings,
    watch_syncs,
    watching,
    webhook_modes,
)
from .blueprint import PanelError, Viewer, connection_of
from .csrf import csrf_token
from .htmx import add_vary

#: Where the connect flow keeps its state between the redirect to Xero and the callback.
_OAUTH_SESSION_KEY = "xero_panel_oauth"


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
    health_rows = (
        organisation_health(
            db_session, connection, state.backends.counter, modes=webhook_modes(state)
        )
        if connection is not None
        else []
    )
    response = make_response(
        render_template(
            "xero_panel/settings.html",
            connection=connection,
            organisations=organisations,
            sync_states=sync_states,
            offered=offered_tenants(connection) if connection else set(),
            used_elsewhere=tenants_used_elsewhere(db_session, viewer.crm_account),
            health_rows=health_rows,
            watch_health=watching(health_rows),
            settings=state.settings,
            not_configured=NOT_CONFIGURED,
            messages=messages,
            viewer=viewer,
            xp_csrf_token=csrf_token(),
        )
    )
    return add_vary(response)


@admin_only
def connect(viewer: Viewer) -> BaseResponse:
    """Send the admin to Xero's sign-in and consent page (the connect's first step)."""
    if not get_state().settings.xero_configured:
        raise PanelError(400, NOT_CONFIGURED)
    url, pending = get_state().connect_flow().begin(viewer.crm_account, _redirect_uri())
    session[_OAUTH_SESSION_KEY] = pending.as_dict()
    return redirect(url)


@admin_only
def callback(viewer: Viewer) -> BaseResponse:
    """Where Xero sends the admin back (the connect's second step): the grant is stored as
    pending until the admin chooses organisations and saves."""
    state = get_state()
    try:
        completed = state.connect_flow().complete(
            state.panel.db.session(),
            crm_account=viewer.crm_account,
            pending=PendingConnect.from_dict(session.pop(_OAUTH_SESSION_KEY, None)),
            answer=request.args,
            redirect_uri=_redirect_uri(),
        )
    except ConnectRefused as exc:
        raise PanelError(400, str(exc)) from None
    for text, level in completed.notices:
        message(text, level)
    return to_settings()


@admin_only
def save(viewer: Viewer) -> BaseResponse:
    """Use the chosen organisations and start their first sync (the connect's last step)."""
    state = get_state()
    try:
        saved = state.connect_flow().save(
            state.panel.db.session(), viewer.crm_account, request.form.getlist("tenant")
        )
    except ConnectRefused as exc:
        raise PanelError(400, str(exc)) from None
    names = ", ".join(o.name for o in saved.chosen)
    watch_syncs()
    if saved.first_sync:
        starting = ", ".join(o.name for o in saved.first_sync)
        message(
            f"Saved: the panel uses {names}. The first sync with Xero has started for"
            f" {starting}; reps see invoices as it fills the cache."
        )
    else:
        message(f"Saved: the panel uses {names}.")
    return to_settings()


@admin_only
def check_connection(viewer: Viewer) -> BaseResponse:
    """Call Xero once per chosen organisation (``GET /Organisation``) and report how long
    Xero took to answer. Each outcome is recorded as any call's is, so a success clears the
    organisation's trouble for everyone and a failure shows on the rep's panel too. An
    organisation whose Xero ``Retry-After`` is still running is not called: the message
    says when calls resume."""
    state = get_state()
    db_session = state.panel.db.session()
    connection = _active_connection(viewer, allow_needs_reconnect=True)
    now = utcnow()
    for organisation in [o for o in connection.organisations if o.selected]:
        sync = db_session.get(SyncState, organisation.id)
        if sync is not None and sync.retry_at is not None and sync.retry_at > now:
            limit = LIMITS.get(sync.rate_limit or "", "rate limit")
            wait = max(1, round((sync.retry_at - now).total_seconds() + 0.4999))
            message(
                f"{organisation.name}: not tested, Xero's {limit} was reached; calls resume"
                f" at {sync.retry_at.strftime('%H:%M:%S')} UTC (in {wait} s).",
                "error",
            )
            continue
        client = state.client_for(connection.id)
        try:
            details = client.organisation(organisation.tenant_id)
        except XeroPanelError as exc:
            problem = record_failure(db_session, organisation.id, exc, now=utcnow())
            message(f"{organisation.name}: the test failed. {problem}", "error")
            continue
        record_success(db_session, organisation.id, seconds=client.last_call_seconds, now=utcnow())
        db_session.commit()
        took = (client.last_call_seconds or 0.0) * 1000
        message(f"Connection works: Xero answered for {details.name} in {took:.0f} ms.")
    return to_settings()


@admin_only
def refresh_now(viewer: Viewer) -> BaseResponse:
    """Start a sync of every chosen organisation now."""
    connection = _active_connection(viewer)
    scheduler = get_state().scheduler
    for organisation in [o for o in connection.organisations if o.selected]:
        scheduler.start_refresh(organisation.id)
    watch_syncs()
    message("A refresh with Xero has started; the figures below follow it as it runs.")
    return to_settings()


def _active_connection(viewer: Viewer, *, allow_needs_reconnect: bool = False) -> Connection:
    allowed = ("active", "needs_reconnect") if allow_needs_reconnect else ("active",)
    connection = connection_of(viewer.crm_account)
    if connection is None or connection.status not in allowed:
        raise PanelError(400, "Xero is not connected and saved yet: connect to Xero first.")
    return connection


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
