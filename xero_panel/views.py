"""The plugin's blueprint: the panel partial and the admin's Xero integration page.

Flask stays here: these functions read ``request``, call the host's hooks, run the plain
queries and render templates.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user

from .connections import get_connection
from .extension import get_state, htmx_script_url
from .htmx import is_htmx, render_partial_or_page
from .models import Connection
from .records import RECORD_TYPES, CRMRecord

blueprint = Blueprint(
    "xero_panel",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


class PanelError(Exception):
    """A request the panel answers with a message in a ``panel-error`` element."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """Who is looking: their CRM account and whether they administer it."""

    crm_account: str
    is_admin: bool


def require_login() -> Response | None:
    if current_user.is_authenticated:
        return None
    if is_htmx():
        raise PanelError(401, "Your session has ended. Sign in again to see Xero invoices.")
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is None:
        abort(401)
    response = login_manager.unauthorized()
    assert isinstance(response, Response)
    return response


def current_viewer() -> Viewer:
    panel = get_state().panel
    account = panel.current_account()
    if account is None:
        raise PanelError(
            403, "You are not in a CRM account, so there are no Xero invoices to show."
        )
    return Viewer(crm_account=account, is_admin=panel.is_admin())


def _load_record(record_type: str, record_id: str) -> CRMRecord:
    if record_type not in RECORD_TYPES:
        raise PanelError(404, f"Unknown record type {record_type!r}: use contact, account or deal.")
    record = get_state().panel.load_record(record_type, record_id)
    if record is None:
        raise PanelError(404, "This record does not exist, or you may not see it.")
    return record


def connection_of(crm_account: str) -> Connection | None:
    return get_connection(get_state().panel.db.session(), crm_account)


@blueprint.context_processor
def _template_helpers() -> dict[str, object]:
    return {"xero_panel_htmx_src": htmx_script_url}


@blueprint.errorhandler(PanelError)
def _panel_error(error: PanelError) -> Response:
    args = request.view_args or {}
    record_type = args.get("record_type")
    known = record_type in RECORD_TYPES
    return render_partial_or_page(
        "xero_panel/partials/error.html",
        "xero_panel/page.html",
        status=error.status,
        message=error.message,
        record_type=record_type if known else None,
        record_id=args.get("record_id") if known else None,
    )


@blueprint.get("/panel/<record_type>/<record_id>")
def panel(record_type: str, record_id: str) -> Response:
    """The panel for one CRM record: a partial for htmx, a whole page otherwise."""
    redirect = require_login()
    if redirect is not None:
        return redirect
    viewer = current_viewer()
    record = _load_record(record_type, record_id)
    connection = connection_of(viewer.crm_account)
    state = "not_connected"
    if connection is not None and connection.status == "active":
        state = "first_sync"
    elif connection is not None and connection.status == "needs_reconnect":
        state = "needs_reconnect"
    return render_partial_or_page(
        "xero_panel/partials/panel.html",
        "xero_panel/page.html",
        record_type=record_type,
        record_id=record_id,
        record=record,
        viewer=viewer,
        state=state,
    )
