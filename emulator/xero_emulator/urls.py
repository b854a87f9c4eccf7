"""Every URL the emulator answers, and the view that answers it (like moto's ``urls.py``).

Real Xero spreads these over three hosts (``login.xero.com``, ``identity.xero.com``,
``api.xero.com``); the emulator serves them all from one base URL. Views take the
:class:`~xero_emulator.backend.XeroBackend` and the request, plus the rule's variables.
:mod:`.server` (the WSGI entry point) is above this module; the views are below it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .views import accounting, connections, control, identity
from .views.http import text

if TYPE_CHECKING:
    from .backend import XeroBackend

__all__ = ["URL_MAP", "dispatch"]

View = Callable[..., Response]
_GET, _POST, _DELETE = ["GET"], ["POST"], ["DELETE"]
_TENANT = "/_emulator/tenants/<tenant_id>/<kind>"


def _rules(view: View, methods: list[str] | None, *paths: str) -> list[Rule]:
    return [Rule(path, endpoint=view, methods=methods) for path in paths]


URL_MAP = Map(
    [
        *_rules(identity.index, _GET, "/"),
        # Xero's identity server (login.xero.com and identity.xero.com)
        *_rules(identity.authorize, ["GET", "POST"], "/identity/connect/authorize"),
        *_rules(identity.token, _POST, "/identity/connect/token", "/connect/token"),
        *_rules(identity.revocation, _POST, "/identity/connect/revocation", "/connect/revocation"),
        *_rules(
            identity.discovery,
            None,
            "/.well-known/openid-configuration",
            "/identity/.well-known/openid-configuration",
        ),
        *_rules(
            identity.jwks,
            None,
            "/.well-known/openid-configuration/jwks",
            "/identity/.well-known/openid-configuration/jwks",
        ),
        # api.xero.com
        *_rules(connections.list_connections, _GET, "/connections", "/Connections"),
        *_rules(connections.delete_connection, _DELETE, "/connections/<cid>", "/Connections/<cid>"),
        # Organisation, Contacts, Invoices, CreditNotes [/{id}], Invoices/{id}/OnlineInvoice
        *_rules(accounting.api, _GET, "/api.xro/2.0/<path:rest>"),
        *_rules(accounting.online_invoice, _GET, "/in/<token>"),
        # go.xero.com: the web app's pages the panel's deep links open
        *_rules(
            accounting.deep_link,
            _GET,
            "/AccountsReceivable/View.aspx",
            "/AccountsReceivable/ViewCreditNote.aspx",
            "/organisationlogin/default.aspx",
        ),
        # the control endpoints (tests and demos only)
        *_rules(control.stats, _GET, "/_emulator/stats"),
        *_rules(control.reset_stats, _POST, "/_emulator/stats/reset"),
        *_rules(control.reset, _POST, "/_emulator/reset"),
        *_rules(control.tenants, _GET, "/_emulator/tenants"),
        *_rules(control.upsert_objects, _POST, _TENANT),
        *_rules(control.add_payment, _POST, f"{_TENANT}/<object_id>/payments"),
        *_rules(control.silent_change, _POST, f"{_TENANT}/<object_id>/silent"),
        *_rules(control.faults, ["GET", "POST", "DELETE"], "/_emulator/faults"),
        *_rules(control.limits, ["GET", "POST"], "/_emulator/limits"),
        *_rules(control.clock, ["GET", "POST"], "/_emulator/clock"),
        *_rules(control.webhooks, _GET, "/_emulator/webhooks"),
        *_rules(control.intent_to_receive, _POST, "/_emulator/webhooks/intent-to-receive"),
        *_rules(control.flush_webhooks, _POST, "/_emulator/webhooks/flush"),
        *_rules(control.issue_tokens, _POST, "/_emulator/tokens"),
        *_rules(control.no_such_endpoint, ["GET", "POST", "DELETE"], "/_emulator/<path:rest>"),
    ],
    strict_slashes=False,
)


def dispatch(emu: XeroBackend, environ: dict[str, Any]) -> Response:
    """The answer to one request: the matching view's, or werkzeug's 404 or 405 as text."""
    request = Request(environ)
    adapter = URL_MAP.bind_to_environ(environ)
    try:
        view, values = adapter.match()
    except HTTPException as exc:
        return text(exc.description or exc.name, exc.code or 404)
    response: Response = view(emu, request, **values)
    return response
