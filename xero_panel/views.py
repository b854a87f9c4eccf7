"""The plugin's blueprint: the panel partial, its pins, links and refresh.

Flask stays here: these functions read ``request``, call the host's hooks, run the plain
queries (:mod:`.matching`, :mod:`.queries`) and render templates. The admin's Xero
integration page lives in :mod:`.admin_views` on the same blueprint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, abort, current_app, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError as HostCSRFError
from sqlalchemy.orm import Session

from .connections import get_connection, selected_organisations
from .csrf import CSRF_MESSAGE, CSRFError, csrf_token, require_csrf
from .extension import htmx_script_url
from .formatting import Formatter, plain_amount, status_label, status_notes
from .htmx import is_htmx, render_partial_or_page
from .matching import Match, find_contact, link_contact, match_record, search_contacts
from .matching import unlink_contact as remove_link
from .models import Connection, Organisation
from .panel_params import (
    DEFAULT_VIEW,
    HOST_PREFIX,
    PARAM_NAMES,
    VIEWS,
    PanelParams,
    ParamError,
    ViewName,
    page_past_end_message,
    parse_panel_params,
)
from .queries import (
    InvoiceRow,
    PanelPage,
    RecordRef,
    deep_link,
    panel_page,
    pin_invoice,
    record_invoice_row,
    unpin_invoice,
)
from .records import RECORD_TYPES, CRMRecord
from .state import get_state
from .sync.state import CacheStatus as Freshness

blueprint = Blueprint(
    "xero_panel",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

#: What the panel shows instead of (or above) the list.
PanelStateName = Literal[
    "not_connected", "no_organisations", "first_sync", "never_synced", "no_match", "list"
]
#: The views' names as the view selector shows them.
VIEW_LABELS: dict[ViewName, str] = {
    "unpaid": "Unpaid",
    "open": "Open",
    "overdue": "Overdue",
    "paid": "Paid",
    "pinned": "Pinned",
    "all": "All",
}
#: Polling interval while the first sync runs.
POLL_EVERY = "2s"


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


def dom_id(record_type: str, record_id: str, *parts: object) -> str:
    """An element id for a record's panel (and its parts) that is safe in CSS selectors,
    whatever characters the record id has."""
    words = [record_type, record_id, *(str(p) for p in parts)]
    safe = [re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", w) for w in words]
    return "xp-" + "-".join(safe)


@blueprint.context_processor
def _template_helpers() -> dict[str, object]:
    return {"xero_panel_htmx_src": htmx_script_url}


@blueprint.errorhandler(PanelError)
def _panel_error(error: PanelError) -> Response:
    args = request.view_args or {}
    record_type = args.get("record_type")
    known = isinstance(record_type, str) and record_type in RECORD_TYPES
    if isinstance(record_type, str) and known and request.method != "GET" and is_htmx():
        # A pin, link or refresh went wrong: say so inside the panel, keep the panel.
        response = render_partial_or_page(
            "xero_panel/partials/alert.html",
            "xero_panel/page.html",
            status=error.status,
            message=error.message,
        )
        response.headers["HX-Retarget"] = "#" + dom_id(record_type, args["record_id"], "alerts")
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render_partial_or_page(
        "xero_panel/partials/error.html",
        "xero_panel/page.html",
        status=error.status,
        message=error.message,
        record_type=record_type if known else None,
        record_id=args.get("record_id") if known else None,
    )


@blueprint.errorhandler(HostCSRFError)
def _csrf_error(error: HostCSRFError) -> Response:
    # A host's CSRFProtect checks before our views run; answer like our own check does.
    return _panel_error(PanelError(400, CSRF_MESSAGE))


def _check_csrf() -> None:
    try:
        require_csrf()
    except CSRFError as exc:
        raise PanelError(400, str(exc)) from None


# -- what one panel request works on ---------------------------------------------------------


@dataclass
class PanelContext:
    """Everything a panel request resolved before querying: who, which record, which
    organisations, which Xero contacts."""

    viewer: Viewer
    record_type: str
    record_id: str
    record: CRMRecord
    session: Session
    connection: Connection | None
    organisations: list[Organisation]
    match: Match

    @property
    def ref(self) -> RecordRef:
        return RecordRef(self.viewer.crm_account, self.record_type, self.record_id)

    @property
    def needs_reconnect(self) -> bool:
        return self.connection is not None and self.connection.status == "needs_reconnect"


def _context(record_type: str, record_id: str) -> PanelContext | Response:
    redirect = require_login()
    if redirect is not None:
        return redirect
    viewer = current_viewer()
    record = _load_record(record_type, record_id)
    session = get_state().panel.db.session()
    connection = get_connection(session, viewer.crm_account)
    organisations: list[Organisation] = []
    if connection is not None and connection.status == "active":
        organisations = selected_organisations(session, viewer.crm_account)
    elif connection is not None and connection.status == "needs_reconnect":
        # Xero refuses the tokens, but the cache is still worth showing.
        organisations = sorted(
            (o for o in connection.organisations if o.selected), key=lambda o: (o.name, o.id)
        )
    match = match_record(
        session,
        organisations,
        crm_account=viewer.crm_account,
        record_type=record_type,
        record_id=record_id,
        record=record,
    )
    return PanelContext(
        viewer, record_type, record_id, record, session, connection, organisations, match
    )


def _state_of(ctx: PanelContext, freshness: Freshness | None) -> PanelStateName:
    if ctx.connection is None or ctx.connection.status not in ("active", "needs_reconnect"):
        return "not_connected"
    if not ctx.organisations:
        return "no_organisations"
    if freshness is None:  # a bad parameter: nothing was asked of the sync
        return "list"
    if freshness.first_sync_running:
        return "first_sync"
    if freshness.fresh_at is None and not freshness.problem and not ctx.match:
        return "never_synced"
    if not ctx.match:
        return "no_match"
    return "list"


def _freshness(ctx: PanelContext, *, refresh: bool = False) -> Freshness | None:
    if not ctx.organisations:
        return None
    service = get_state().scheduler
    if refresh:
        return service.refresh_record(ctx.session, ctx.organisations, contact_ids=ctx.match.keys())
    return service.ensure_fresh(ctx.session, ctx.organisations, contact_ids=ctx.match.keys())


# -- URLs ------------------------------------------------------------------------------------


def _panel_url(ctx_type: str, ctx_id: str, params: PanelParams, **extra: object) -> str:
    query: dict[str, Any] = dict(params.state())
    query.update({k: v for k, v in extra.items() if v not in (None, "")})
    return url_for("xero_panel.panel", record_type=ctx_type, record_id=ctx_id, **query)


def replace_url(current_url: str, params: PanelParams, panel_path: str) -> str:
    """The host page's URL with the panel's state in ``xp_*`` parameters (defaults left
    out, the page's other parameters kept). On the panel's own full page, its own
    parameters are used instead."""
    parts = urlsplit(current_url)
    state = params.state()
    if parts.path == panel_path:
        kept = [(k, v) for k, v in parse_qsl(parts.query, True) if k not in (*PARAM_NAMES, "page")]
        pairs = kept + list(state.items())
    else:
        kept = [(k, v) for k, v in parse_qsl(parts.query, True) if not k.startswith(HOST_PREFIX)]
        pairs = kept + [(HOST_PREFIX + k, v) for k, v in state.items()]
    return urlunsplit(("", "", parts.path or "/", urlencode(pairs), parts.fragment))


# -- rendering -------------------------------------------------------------------------------


def _render(
    ctx: PanelContext,
    params: PanelParams,
    freshness: Freshness | None,
    *,
    status: int = 200,
    param_error: str | None = None,
    raw: dict[str, str] | None = None,
    template: str = "xero_panel/partials/panel.html",
    replace_history: bool = True,
    **extra: Any,
) -> Response:
    settings = get_state().settings
    panel = get_state().panel
    state = _state_of(ctx, freshness)
    page: PanelPage | None = None
    if state == "list" and param_error is None:
        page = panel_page(
            ctx.session,
            ctx.organisations,
            ctx.match.keys(),
            record=ctx.ref,
            view=params.view,
            q=params.q,
            date_from=params.date_from,
            date_to=params.date_to,
            page=params.page,
            page_size=settings.page_size,
        )
        if params.page > page.last_page:
            param_error = page_past_end_message(params.page, page.last_page)
            status = 400
            page = None
            template = "xero_panel/partials/panel.html"
    formatter = Formatter(panel.current_locale())
    rt, rid = ctx.record_type, ctx.record_id

    def url(target: PanelParams, **more: object) -> str:
        return _panel_url(rt, rid, target, **more)

    def pin_url(row: InvoiceRow) -> str:
        return url_for(
            "xero_panel.pin",
            record_type=rt,
            record_id=rid,
            organisation_id=row.organisation_id,
            invoice_id=row.invoice_id,
        )

    def xero_url(row: InvoiceRow) -> str:
        return deep_link(settings.deep_link_url, row.short_code, row.kind, row.invoice_id)

    def did(*parts: object) -> str:
        return dom_id(rt, rid, *parts)

    response = render_partial_or_page(
        template,
        "xero_panel/page.html",
        status=status,
        record_type=rt,
        record_id=rid,
        record=ctx.record,
        viewer=ctx.viewer,
        state=state,
        needs_reconnect=ctx.needs_reconnect,
        freshness=freshness,
        params=params,
        raw=raw or _raw_of(params),
        param_error=param_error,
        listing=page,
        match=ctx.match,
        may_link=panel.may_link(),
        multi_org=len(ctx.organisations) > 1,
        organisations=ctx.organisations,
        views=VIEWS,
        view_labels=VIEW_LABELS,
        default_view=DEFAULT_VIEW,
        fmt=formatter,
        plain_amount=plain_amount,
        status_label=status_label,
        status_notes=lambda row: status_notes(row, formatter),
        panel_url=url,
        pin_url=pin_url,
        xero_url=xero_url,
        did=did,
        PanelParams=PanelParams,
        org_names={o.id: o.name for o in ctx.organisations},
        refresh_url=_refresh_url(rt, rid, params),
        link_search_url=url_for("xero_panel.link_search", record_type=rt, record_id=rid),
        unlink_url=lambda c: url_for(
            "xero_panel.unlink",
            record_type=rt,
            record_id=rid,
            organisation_id=c.organisation_id,
            contact_id=c.contact_id,
        ),
        empty_message=_empty_message(params, state, ctx),
        xp_csrf_token=csrf_token(),
        poll_every=POLL_EVERY,
        **extra,
    )
    current = request.headers.get("HX-Current-URL")
    if replace_history and is_htmx() and current and status == 200:
        path = url_for("xero_panel.panel", record_type=rt, record_id=rid)
        response.headers["HX-Replace-Url"] = replace_url(current, params, path)
    return response


_EMPTY_VIEW: dict[ViewName, str] = {
    "unpaid": "No unpaid invoices.",
    "open": "No open invoices: nothing is unpaid and not yet due.",
    "overdue": "No overdue invoices.",
    "paid": "No paid invoices.",
    "pinned": "No pinned invoices. Pin an invoice to keep it here for everyone in your team.",
    "all": "No invoices or credit notes.",
}


def _empty_message(params: PanelParams, state: PanelStateName, ctx: PanelContext) -> str:
    if state == "no_match":
        if ctx.record_type == "contact":
            return "No Xero customer has this contact's email address."
        if ctx.record_type == "account":
            return "No Xero customer has this account's name."
        return "No Xero customer matches this deal's account or contacts."
    if params.filtered:
        what = "invoices or credit notes" if params.view == "all" else "invoices"
        label = "" if params.view == "all" else VIEW_LABELS[params.view].lower() + " "
        return f"No {label}{what} match this search or date range."
    return _EMPTY_VIEW[params.view]


def _refresh_url(record_type: str, record_id: str, params: PanelParams) -> str:
    query: dict[str, Any] = dict(params.state())
    return url_for("xero_panel.refresh", record_type=record_type, record_id=record_id, **query)


def _raw_of(params: PanelParams) -> dict[str, str]:
    return {
        "q": params.q,
        "from": params.date_from.isoformat() if params.date_from else "",
        "to": params.date_to.isoformat() if params.date_to else "",
    }


def _parse(args: Any) -> tuple[PanelParams, str | None, dict[str, str]]:
    raw = {name: str(args.get(name) or "") for name in ("q", "from", "to")}
    try:
        return parse_panel_params(args), None, raw
    except ParamError as exc:
        view = args.get("view")
        if view and view not in VIEWS:
            raw["view_invalid"] = "true"
        fallback = PanelParams(view=view if view in VIEWS else DEFAULT_VIEW)
        return fallback, str(exc), raw


# -- routes ----------------------------------------------------------------------------------


@blueprint.get("/panel/<record_type>/<record_id>")
def panel(record_type: str, record_id: str) -> Response:
    """The panel for one CRM record: a partial for htmx, a whole page otherwise.

    ``view``, ``q``, ``from``, ``to`` and ``page`` choose the list; bad values give 400
    and a ``panel-error``. With htmx and ``page`` > 1 only the rows are returned (for
    *Load more*).
    """
    ctx = _context(record_type, record_id)
    if isinstance(ctx, Response):
        return ctx
    params, error, raw = _parse(request.args)
    if error is not None:
        return _render(ctx, params, None, status=400, param_error=error, raw=raw)
    freshness = _freshness(ctx)
    if is_htmx() and params.page > 1:
        return _render(
            ctx,
            params,
            freshness,
            template="xero_panel/partials/more_rows.html",
            replace_history=False,
        )
    return _render(ctx, params, freshness)


@blueprint.post("/panel/<record_type>/<record_id>/refresh")
def refresh(record_type: str, record_id: str) -> Response:
    """*Refresh*: a targeted sync of the record's contacts, then the panel again."""
    ctx = _context(record_type, record_id)
    if isinstance(ctx, Response):
        return ctx
    _check_csrf()
    params, error, raw = _parse(request.values)
    if error is not None:
        return _render(ctx, params, None, status=400, param_error=error, raw=raw)
    freshness = _freshness(ctx, refresh=True)
    return _render(ctx, params, freshness)


def _pin_target(
    record_type: str, record_id: str, organisation_id: int, invoice_id: str
) -> tuple[PanelContext, InvoiceRow] | Response:
    ctx = _context(record_type, record_id)
    if isinstance(ctx, Response):
        return ctx
    _check_csrf()
    row = record_invoice_row(
        ctx.session,
        ctx.organisations,
        ctx.match.keys(),
        record=ctx.ref,
        organisation_id=organisation_id,
        invoice_id=invoice_id,
    )
    if row is None:
        raise PanelError(404, "This invoice is not one of this record's Xero invoices.")
    return ctx, row


@blueprint.route(
    "/panel/<record_type>/<record_id>/pins/<int:organisation_id>/<invoice_id>",
    methods=["POST", "DELETE"],
)
def pin(record_type: str, record_id: str, organisation_id: int, invoice_id: str) -> Response:
    """Pin (``POST``) or unpin (``DELETE``) an invoice on a record, for everyone in the CRM
    account; idempotent. Answers with the invoice's row."""
    target = _pin_target(record_type, record_id, organisation_id, invoice_id)
    if isinstance(target, Response):
        return target
    ctx, row = target
    if request.method == "POST":
        pin_invoice(
            ctx.session,
            record=ctx.ref,
            organisation_id=organisation_id,
            invoice_id=invoice_id,
            pinned_by=_user_label(),
        )
    else:
        unpin_invoice(
            ctx.session, record=ctx.ref, organisation_id=organisation_id, invoice_id=invoice_id
        )
    ctx.session.commit()
    updated = record_invoice_row(
        ctx.session,
        ctx.organisations,
        ctx.match.keys(),
        record=ctx.ref,
        organisation_id=organisation_id,
        invoice_id=invoice_id,
    )
    params, _, _ = _parse(request.values)
    return _render(
        ctx,
        params,
        None,
        template="xero_panel/partials/row_only.html",
        replace_history=False,
        row=updated if updated is not None else row,
    )


def _require_linker() -> None:
    if not get_state().panel.may_link():
        raise PanelError(403, "Only an admin of your CRM account can link Xero contacts.")


@blueprint.get("/panel/<record_type>/<record_id>/links/search")
def link_search(record_type: str, record_id: str) -> Response:
    """The *Link Xero contact* search: cached Xero contacts whose name or email contains
    ``contact_q``."""
    ctx = _context(record_type, record_id)
    if isinstance(ctx, Response):
        return ctx
    _require_linker()
    text = (request.args.get("contact_q") or "").strip()
    if len(text) > 100:
        raise PanelError(400, "contact_q must be at most 100 characters")
    choices = search_contacts(ctx.session, ctx.organisations, text)
    return render_partial_or_page(
        "xero_panel/partials/link_results.html",
        "xero_panel/page.html",
        choices=choices,
        text=text,
        multi_org=len(ctx.organisations) > 1,
        links_url=url_for("xero_panel.links", record_type=record_type, record_id=record_id),
        record_type=record_type,
        record_id=record_id,
    )


@blueprint.post("/panel/<record_type>/<record_id>/links")
def links(record_type: str, record_id: str) -> Response:
    """Link the record to a cached Xero contact (``organisation_id``, ``contact_id``); the
    link replaces matching. Answers with the panel."""
    ctx = _context(record_type, record_id)
    if isinstance(ctx, Response):
        return ctx
    _check_csrf()
    _require_linker()
    organisation_id = _int_or_none(request.form.get("organisation_id"))
    contact_id = (request.form.get("contact_id") or "").strip()
    contact = (
        find_contact(ctx.session, ctx.organisations, organisation_id, contact_id)
        if organisation_id is not None and contact_id
        else None
    )
    if contact is None:
        raise PanelError(404, "That Xero contact is not in this CRM account's Xero data.")
    link_contact(
        ctx.session,
        crm_account=ctx.viewer.crm_account,
        record_type=record_type,
        record_id=record_id,
        organisation_id=contact.organisation_id,
        contact_id=contact.contact_id,
        linked_by=_user_label(),
    )
    ctx.session.commit()
    return _rerender(record_type, record_id)


@blueprint.delete("/panel/<record_type>/<record_id>/links/<int:organisation_id>/<contact_id>")
def unlink(record_type: str, record_id: str, organisation_id: int, contact_id: str) -> Response:
    """Remove one of the record's links (idempotent); without links, matching applies
    again. Answers with the panel."""
    ctx = _context(record_type, record_id)
    if isinstance(ctx, Response):
        return ctx
    _check_csrf()
    _require_linker()
    remove_link(
        ctx.session,
        crm_account=ctx.viewer.crm_account,
        record_type=record_type,
        record_id=record_id,
        organisation_id=organisation_id,
        contact_id=contact_id,
    )
    ctx.session.commit()
    return _rerender(record_type, record_id)


def _rerender(record_type: str, record_id: str) -> Response:
    ctx = _context(record_type, record_id)
    assert not isinstance(ctx, Response)
    params, error, _ = _parse(request.values)
    return _render(ctx, params if error is None else PanelParams(), _freshness(ctx))


def _int_or_none(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _user_label() -> str | None:
    for attribute in ("email", "username", "name"):
        value = getattr(current_user, attribute, None)
        if isinstance(value, str) and value:
            return value[:320]
    get_id: Callable[[], object] | None = getattr(current_user, "get_id", None)
    return str(get_id())[:320] if get_id is not None else None
