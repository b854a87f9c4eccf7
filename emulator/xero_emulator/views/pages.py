"""The HTML of the emulated Xero login and consent pages, and of the online invoice page.
Every value is escaped.

Stable hooks for browser tests: the login form has ``name="email"`` and ``name="password"``
inputs and a ``data-testid="login-submit"`` button; the consent form lists
``<input type="checkbox" name="tenant" value="<tenantId>" data-testid="tenant-checkbox"
data-tenant-name="...">`` and has ``name="action"`` buttons ``value="allow"``
(``data-testid="allow-access"``, text *Allow access*) and ``value="cancel"``
(``data-testid="cancel"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from ..store import TenantData

__all__ = ["consent_page", "error_page", "login_page", "online_invoice_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;color:#1e2a36}
main{max-width:28rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 2px 10px rgba(0,0,0,.1)}
h1{font-size:1.3rem;margin-top:0}.logo{color:#13b5ea;font-weight:700;font-size:1.6rem}
label{display:block;margin:.8rem 0 .2rem}input[type=email],input[type=password]{width:100%;
padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.6rem 1.2rem;border:0;
border-radius:4px;background:#13b5ea;color:#fff;font-size:1rem;cursor:pointer}
button.secondary{background:#e1e6ea;color:#1e2a36}.error{color:#b00020}
ul{list-style:none;padding:0}li{margin:.4rem 0}.scopes{font-size:.85rem;color:#5a6a78}
"""


def _page(title: str, body: Markup) -> str:
    return str(
        Markup(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<link rel='icon' href='data:,'>"
            "<title>{title}</title><style>{style}</style></head><body><main>"
            "<div class='logo'>xero</div><p class='scopes'>Xero emulator</p>{body}"
            "</main></body></html>"
        ).format(title=title, style=Markup(_STYLE), body=body)  # noqa: S704 - a constant
    )


def _hidden(params: Mapping[str, str]) -> Markup:
    return Markup("").join(
        Markup("<input type='hidden' name='{}' value='{}'>").format(k, v) for k, v in params.items()
    )


def login_page(params: Mapping[str, str], app_name: str, error: str = "") -> str:
    """The login form; ``params`` are the authorize request's parameters, carried along."""
    message = Markup("<p class='error' role='alert'>{}</p>").format(error) if error else ""
    body = Markup(
        "<h1>Log in to Xero</h1><p><strong>{app}</strong> wants to connect to your "
        "organisation.</p>{message}<form method='post' action='{action}'>{hidden}"
        "<input type='hidden' name='step' value='login'>"
        "<label for='email'>Email address</label>"
        "<input id='email' type='email' name='email' autocomplete='username' required>"
        "<label for='password'>Password</label>"
        "<input id='password' type='password' name='password' "
        "autocomplete='current-password' required>"
        "<button type='submit' data-testid='login-submit'>Log in</button></form>"
    ).format(
        app=app_name,
        message=message,
        action="/identity/connect/authorize",
        hidden=_hidden(params),
    )
    return _page("Log in | Xero", body)


def consent_page(
    params: Mapping[str, str],
    app_name: str,
    user_email: str,
    ticket: str,
    tenants: Iterable[tuple[str, str]],
    scopes: Iterable[str],
    error: str = "",
) -> str:
    """The consent form listing the organisations the user can grant."""
    tenants = list(tenants)
    only_one = len(tenants) == 1
    items = Markup("").join(
        Markup(
            "<li><label><input type='checkbox' name='tenant' value='{id}' "
            "data-testid='tenant-checkbox' data-tenant-name='{name}'{checked}> {name}"
            "</label></li>"
        ).format(id=tid, name=name, checked=Markup(" checked") if only_one else "")
        for tid, name in tenants
    )
    message = Markup("<p class='error' role='alert'>{}</p>").format(error) if error else ""
    scope_items = Markup(", ").join(escape(s) for s in scopes)
    body = Markup(
        "<h1>{app} wants access to your Xero data</h1>"
        "<p>Logged in as <strong data-testid='xero-user'>{email}</strong></p>{message}"
        "<form method='post' action='{action}'>{hidden}"
        "<input type='hidden' name='step' value='consent'>"
        "<input type='hidden' name='ticket' value='{ticket}'>"
        "<p>Select the organisations to connect:</p><ul>{items}</ul>"
        "<p class='scopes'>Permissions requested: {scopes}</p>"
        "<button type='submit' name='action' value='allow' data-testid='allow-access'>"
        "Allow access</button> "
        "<button type='submit' name='action' value='cancel' class='secondary' "
        "data-testid='cancel' formnovalidate>Cancel</button></form>"
    ).format(
        app=app_name,
        email=user_email,
        message=message,
        action="/identity/connect/authorize",
        hidden=_hidden(params),
        ticket=ticket,
        items=items or Markup("<li>This user has no organisations to connect.</li>"),
        scopes=scope_items,
    )
    return _page("Allow access | Xero", body)


def error_page(message: str) -> str:
    """The page shown when the request cannot be sent back to the client."""
    body = Markup(
        "<h1>Sorry, something went wrong</h1><p class='error' data-testid='oauth-error'>{}</p>"
    ).format(message)
    return _page("Error | Xero", body)


def online_invoice_page(tenant: TenantData, invoice: Mapping[str, Any]) -> str:
    """The page an ``OnlineInvoiceUrl`` (or a deep link into Xero's web app) points at:
    organisation, number, contact, amounts. A credit note says so."""
    credit = "CreditNoteID" in invoice
    return str(
        Markup(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{kind} {n}</title>"
            "</head><body><h1>{org}</h1><p>{kind} <strong data-testid='document-number'>{n}"
            "</strong> for {contact}</p>"
            "<p>Total {cur} {total}, amount due {cur} {due}</p><p>Status {status}</p></body></html>"
        ).format(
            kind="Credit note" if credit else "Invoice",
            n=invoice.get("CreditNoteNumber" if credit else "InvoiceNumber", ""),
            org=tenant.organisation.get("Name", tenant.tenant_name),
            contact=invoice["Contact"].get("Name", ""),
            cur=invoice.get("CurrencyCode", ""),
            total=invoice.get("Total", ""),
            due=invoice.get("RemainingCredit" if credit else "AmountDue", ""),
            status=invoice.get("Status", ""),
        )
    )
