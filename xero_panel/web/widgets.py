"""The Jinja globals a host's templates call: the panel's container and the marketplace card.

:meth:`~xero_panel.XeroPanel.init_app` adds :func:`xero_panel_widget` and
:func:`xero_panel_marketplace_card` to the app's Jinja globals.
"""

from __future__ import annotations

from flask import g, render_template, url_for
from markupsafe import Markup

from ..records import RECORD_TYPES
from ..state import get_state

#: What the marketplace card says (also what its search matches).
MARKETPLACE_CARD = {
    "name": "Xero",
    "summary": "See each customer's Xero invoices (paid, unpaid, overdue) on contact, account"
    " and deal pages. Read-only.",
    "keywords": "accounting invoices payments billing finance",
}


def htmx_script_url() -> str | None:
    """Where the page loads htmx from, or None when the host loads it itself.

    :meta private:
    """
    configured = get_state().settings.htmx_url
    if configured == "":
        return url_for("xero_panel.static", filename="xero_panel/htmx.min.js")
    return configured


def _assets_once() -> bool:
    if g.get("_xero_panel_assets_sent"):
        return False
    g._xero_panel_assets_sent = True
    return True


def xero_panel_widget(record_type: str, record_id: object) -> Markup:
    """Render the lazily loading panel container for a CRM record.

    Use it in the host's detail templates: ``{{ xero_panel_widget("contact", contact.id) }}``.
    The first widget on a page also brings the panel's stylesheet, its script and, unless
    ``XERO_PANEL_HTMX_URL`` is ``"none"``, htmx.

    .. versionadded:: 0.1
    """
    if record_type not in RECORD_TYPES:
        raise ValueError(
            f"xero_panel_widget: record_type must be one of {', '.join(RECORD_TYPES)},"
            f" not {record_type!r}."
        )
    get_state()
    # The template is autoescaped, so its output is safe markup.
    return Markup(  # noqa: S704
        render_template(
            "xero_panel/widget.html",
            record_type=record_type,
            record_id=str(record_id),
            include_assets=_assets_once(),
            htmx_src=htmx_script_url(),
        )
    )


def xero_panel_marketplace_card(query: str | None = "") -> Markup:
    """Render the plugin's card for the host's marketplace page, or nothing when the
    marketplace search ``query`` does not match it (matching is case-insensitive on the
    card's name, summary and keywords).

    .. versionadded:: 0.1
    """
    get_state()
    words = (query or "").lower().split()
    haystack = " ".join(MARKETPLACE_CARD.values()).lower()
    if any(word not in haystack for word in words):
        return Markup("")
    return Markup(  # noqa: S704
        render_template(
            "xero_panel/marketplace_card.html",
            card=MARKETPLACE_CARD,
            include_assets=_assets_once(),
            htmx_src=htmx_script_url(),
        )
    )
