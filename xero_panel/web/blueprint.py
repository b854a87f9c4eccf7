"""The plugin's blueprint factory and the request helpers every route module shares.

:func:`make_blueprint` makes the (empty) blueprint with its templates, static files, error
handlers and template helpers; the route modules add their routes with their own
``register(bp)`` functions, called by :meth:`~xero_panel.XeroPanel.init_app`. Importing a
module registers nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError as HostCSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from ..connections import get_connection
from ..models import Connection
from ..records import RECORD_TYPES, CRMRecord
from ..state import get_state
from .csrf import CSRF_MESSAGE, CSRFError, require_csrf
from .htmx import is_htmx, render_partial_or_page
from .request_guard import BadInput, install
from .widgets import htmx_script_url

BLUEPRINT_NAME = "xero_panel"
#: Where the plugin's ``templates`` and ``static`` folders are.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
#: The whole page that wraps a partial for requests that do not come from htmx.
PAGE_TEMPLATE = "xero_panel/page.html"


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


def make_blueprint() -> Blueprint:
    """A new blueprint named ``xero_panel`` with the plugin's templates, static files,
    error handlers and template helpers, and no routes yet."""
    blueprint = Blueprint(
        BLUEPRINT_NAME,
        __name__,
        root_path=str(PACKAGE_ROOT),
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    blueprint.context_processor(_template_helpers)
    blueprint.register_error_handler(PanelError, panel_error)
    blueprint.register_error_handler(HostCSRFError, _host_csrf_error)
    blueprint.register_error_handler(BadInput, _bad_input)
    blueprint.register_error_handler(RequestEntityTooLarge, _too_large)
    install(blueprint)
    return blueprint


def require_login() -> Response | None:
    """``None`` for a signed-in user; else the host's login redirect (a ``panel-error``
    for htmx requests)."""
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
    """The signed-in user's CRM account and admin flag (403 without an account)."""
    panel = get_state().panel
    account = panel.current_account()
    if account is None:
        raise PanelError(
            403, "You are not in a CRM account, so there are no Xero invoices to show."
        )
    return Viewer(crm_account=account, is_admin=panel.is_admin())


def load_record(record_type: str, record_id: str) -> CRMRecord:
    """The host's record, through its record loader (404 when unknown or not visible)."""
    if record_type not in RECORD_TYPES:
        raise PanelError(404, f"Unknown record type {record_type!r}: use contact, account or deal.")
    record = get_state().panel.load_record(record_type, record_id)
    if record is None:
        raise PanelError(404, "This record does not exist, or you may not see it.")
    return record


def connection_of(crm_account: str) -> Connection | None:
    """The CRM account's Xero connection, if any."""
    return get_connection(get_state().panel.db.session(), crm_account)


def check_csrf() -> None:
    """The plugin's CSRF check, failing as a :class:`PanelError` (400)."""
    try:
        require_csrf()
    except CSRFError as exc:
        raise PanelError(400, str(exc)) from None


def dom_id(record_type: str, record_id: str, *parts: object) -> str:
    """An element id for a record's panel (and its parts) that is safe in CSS selectors,
    whatever characters the record id has."""
    words = [record_type, record_id, *(str(p) for p in parts)]
    safe = [re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", w) for w in words]
    return "xp-" + "-".join(safe)


def _template_helpers() -> dict[str, object]:
    return {"xero_panel_htmx_src": htmx_script_url}


def panel_error(error: PanelError) -> Response:
    """Answer a :class:`PanelError`: inside the panel's alerts for a failed pin, link or
    refresh; otherwise as the panel's error partial (or page)."""
    args = request.view_args or {}
    record_type = args.get("record_type")
    known = isinstance(record_type, str) and record_type in RECORD_TYPES
    if isinstance(record_type, str) and known and request.method != "GET" and is_htmx():
        # A pin, link or refresh went wrong: say so inside the panel, keep the panel.
        return render_partial_or_page(
            "xero_panel/partials/alert.html",
            PAGE_TEMPLATE,
            status=error.status,
            retarget="#" + dom_id(record_type, args["record_id"], "alerts"),
            reswap="innerHTML",
            message=error.message,
        )
    return render_partial_or_page(
        "xero_panel/partials/error.html",
        PAGE_TEMPLATE,
        status=error.status,
        message=error.message,
        record_type=record_type if known else None,
        record_id=args.get("record_id") if known else None,
    )


def _host_csrf_error(error: HostCSRFError) -> Response:
    # A host's CSRFProtect checks before our views run; answer like our own check does.
    return panel_error(PanelError(400, CSRF_MESSAGE))


def _bad_input(error: BadInput) -> Response:
    return panel_error(PanelError(400, str(error)))


def _too_large(error: RequestEntityTooLarge) -> Response:
    if request.endpoint == "xero_panel.webhook":
        return Response(b"", status=413)
    return panel_error(PanelError(413, "This request is too large for the Xero panel."))
