"""The Jinja globals a host's templates call: the panel's container and the marketplace card.

:meth:`~xero_panel.XeroPanel.init_app` adds :func:`xero_panel_widget` and
:func:`xero_panel_marketplace_card` to the app's Jinja globals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flask import g, render_template, request, url_for
from markupsafe import Markup

from ..connections import get_connection
from ..records import RECORD_TYPES
from ..state import get_state

#: What the marketplace card says (also what its search matches).
MARKETPLACE_CARD = {
    "name": "Xero",
    "category": "Accounting",
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


#: The request header that carries the widget's heading choice to the panel's requests
#: (set on the container and the panel with ``hx-headers``, so every swap keeps it).
HEADING_HEADER = "X-Xero-Panel-Heading"
_HEADING = re.compile(r"([2-6])( hidden)?")


@dataclass(frozen=True)
class Heading:
    """The panel's "Xero invoices" heading: its level, and whether it is only for screen
    readers (``hidden``: it still names the panel, so a host's own heading may say it).

    :meta private:
    """

    level: int = 2
    hidden: bool = False

    @property
    def header(self) -> str:
        """The header value (``""`` for the default, which sends none)."""
        if self == Heading():
            return ""
        return f"{self.level}{' hidden' if self.hidden else ''}"


def current_heading() -> Heading:
    """The heading the current panel request asks for (the default when none or bad).

    :meta private:
    """
    match = _HEADING.fullmatch(request.headers.get(HEADING_HEADER, ""))
    return Heading(int(match.group(1)), bool(match.group(2))) if match else Heading()


def xero_panel_widget(
    record_type: str, record_id: object, *, heading_level: int = 2, show_heading: bool = True
) -> Markup:
    """Render the lazily loading panel container for a CRM record.

    Use it in the host's detail templates: ``{{ xero_panel_widget("contact", contact.id) }}``.
    The first widget on a page also brings the panel's stylesheet, its script and, unless
    ``XERO_PANEL_HTMX_URL`` is ``"none"``, htmx.

    :param heading_level: the level of the panel's "Xero invoices" heading, 2 to 6 (``<h2>``
        by default), to fit the host page's outline.
    :param show_heading: ``False`` hides the heading from view (screen readers still hear it
        and it still names the panel), for a host that puts its own heading on the card.

    .. versionadded:: 0.1
    .. versionchanged:: 0.3 ``heading_level`` and ``show_heading``.
    """
    if record_type not in RECORD_TYPES:
        raise ValueError(
            f"xero_panel_widget: record_type must be one of {', '.join(RECORD_TYPES)},"
            f" not {record_type!r}."
        )
    if heading_level not in range(2, 7):
        raise ValueError(f"xero_panel_widget: heading_level must be 2 to 6, not {heading_level!r}.")
    get_state()
    # The template is autoescaped, so its output is safe markup.
    return Markup(  # noqa: S704
        render_template(
            "xero_panel/widget.html",
            record_type=record_type,
            record_id=str(record_id),
            include_assets=_assets_once(),
            htmx_src=htmx_script_url(),
            heading=Heading(heading_level, not show_heading),
            heading_header=HEADING_HEADER,
        )
    )


#: The card's own classes (styled by the plugin's panel.css); a host passes its own.
CARD_CLASSES = {
    "card": "xp-card",
    "icon": "",
    "title": "xp-card-title",
    "category": "",
    "summary": "xp-card-summary",
    "action": "xp-card-action",
    "status": "xp-card-status",
    "button": "xp-button",
}


def xero_panel_marketplace_card(
    query: str | None = "", classes: Mapping[str, str] | None = None
) -> Markup:
    """Render the plugin's card for the host's marketplace page, or nothing when the
    marketplace search ``query`` does not match it (matching is case-insensitive on the
    card's name, summary and keywords).

    When the current CRM account has connected Xero the card says *Installed* and offers
    *Manage*, else *Install* (``data-testid="xero-card" data-installed="true|false"``).
    ``classes`` gives the card the look of the host's own cards: the CSS classes of its
    parts, keys ``card``, ``icon``, ``title``, ``category``, ``summary``, ``action``,
    ``status``, ``button`` (an empty ``icon`` or ``category`` leaves that part out). To
    change more than classes, override the template ``xero_panel/marketplace_card.html``.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 *Installed* and *Manage*; ``classes``.
    """
    state = get_state()
    unknown = set(classes or {}) - set(CARD_CLASSES)
    if unknown:
        raise ValueError(
            f"xero_panel_marketplace_card: unknown classes {', '.join(sorted(unknown))};"
            f" use {', '.join(CARD_CLASSES)}."
        )
    account = state.panel.current_account()
    connection = get_connection(state.panel.db.session(), account) if account else None
    words = (query or "").lower().split()
    haystack = " ".join(MARKETPLACE_CARD.values()).lower()
    if any(word not in haystack for word in words):
        return Markup("")
    return Markup(  # noqa: S704
        render_template(
            "xero_panel/marketplace_card.html",
            card=MARKETPLACE_CARD,
            classes={**CARD_CLASSES, **(classes or {})},
            installed=connection is not None,
            status=connection.status if connection else None,
            include_assets=_assets_once(),
            htmx_src=htmx_script_url(),
        )
    )
