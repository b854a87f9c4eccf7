"""The admin's *Remove Xero*: the confirmation page and the removal.

Xero keeps one set of connections per app and Xero user, and revoking any refresh token of
that user removes all of them (xero-python's ``revoke_token`` documents this). When another
CRM account of this host holds a grant of the same Xero user, removal therefore stays local:
this account's tokens, cache, pins and links are deleted, and nothing is disconnected or
revoked at Xero, so the other account keeps working. The last account to remove does both.
"""

from __future__ import annotations

from flask import Blueprint, make_response, render_template
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from ..connections import delete_account_data, shares_xero_user
from ..exceptions import AuthExpired, XeroPanelError
from ..models import Connection, Pin
from ..oauth import revoke
from ..state import get_state
from .admin_common import admin_only, message, to_settings
from .blueprint import Viewer, connection_of
from .csrf import csrf_token
from .htmx import add_vary


@admin_only
def remove_confirm(viewer: Viewer) -> BaseResponse:
    """Ask for confirmation, saying exactly what changes here and at Xero (pins included)."""
    db_session = get_state().panel.db.session()
    connection = connection_of(viewer.crm_account)
    if connection is None:
        return to_settings()
    pins = db_session.scalar(
        select(func.count()).select_from(Pin).where(Pin.crm_account == viewer.crm_account)
    )
    return add_vary(
        make_response(
            render_template(
                "xero_panel/remove.html",
                connection=connection,
                pin_count=pins or 0,
                shared=shares_xero_user(db_session, connection),
                xp_csrf_token=csrf_token(),
            )
        )
    )


@admin_only
def remove(viewer: Viewer) -> BaseResponse:
    """Delete this CRM account's tokens and every cached row, pins and links included; and,
    unless another CRM account uses the same Xero user's grant, disconnect and revoke at
    Xero. The local removal happens even when Xero cannot be reached."""
    state = get_state()
    db_session = state.panel.db.session()
    connection = connection_of(viewer.crm_account)
    if connection is None:
        return to_settings()
    shared = shares_xero_user(db_session, connection)
    confirmed_at_xero = True if shared else _revoke_at_xero(connection)
    delete_account_data(db_session, viewer.crm_account)
    db_session.commit()
    if shared:
        message(
            "Xero was removed from this CRM account: its tokens, cached invoices, pins and"
            " links are deleted here. Nothing was disconnected or revoked in Xero, because"
            " another CRM account here uses the same Xero login and would stop working."
        )
    elif confirmed_at_xero:
        message("Xero was removed: the grant is revoked at Xero and its data deleted here.")
    else:
        message(
            "Xero was removed here and its data deleted, but Xero could not confirm the"
            " revocation. To be sure, remove the app in Xero under Settings > Connected apps.",
            "warning",
        )
    return to_settings()


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


def register(bp: Blueprint) -> None:
    """Add the removal routes to the plugin's blueprint."""
    bp.add_url_rule("/remove", view_func=remove_confirm, methods=["GET"])
    bp.add_url_rule("/remove", view_func=remove, methods=["POST"])
