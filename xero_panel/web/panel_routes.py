"""The panel's routes: the panel partial, its refresh, pins and links.

Each route parses the request, calls the Flask-free core (:mod:`xero_panel.matching`,
:mod:`xero_panel.panel`) and renders the view model; :func:`register` adds them to the
plugin's blueprint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from ..clock import utcnow
from ..matching import find_contact, link_contact, search_contacts, unlink_contact
from ..panel.formatting import Formatter
from ..panel.fragment_cache import CSRF_SLOT, NoFragments
from ..panel.notices import refresh_notice, updated_just_now
from ..panel.params import (
    PARAM_NAMES,
    PanelParams,
    ParsedPanelParams,
    read_panel_params,
    replace_url,
)
from ..panel.queries import set_pin
from ..panel.rows import RecordRef
from ..panel.summaries import record_version
from ..panel.view_model import PanelView, build_panel_view, panel_locale
from ..state import get_state
from ..sync.state import CacheStatus
from .blueprint import PAGE_TEMPLATE, PanelError, check_csrf, require_login
from .csrf import csrf_token
from .htmx import LINKED_EVENT, current_url, is_htmx, render_partial_or_page, trigger
from .panel_context import PanelContext, cache_for_view, panel_urls, resolve
from .panel_fragments import answer, fragment_key_for, fragment_store
from .widgets import HEADING_HEADER, current_heading

PANEL_TEMPLATE = "xero_panel/partials/panel.html"
#: The header of the live update's reload: it reads the cache as it is (never calls Xero).
LIVE_HEADER = "X-Xero-Panel-Live"


def _render(
    ctx: PanelContext,
    parsed: ParsedPanelParams,
    cache: CacheStatus | None,
    *,
    template: str = PANEL_TEMPLATE,
    replace_history: bool = True,
    refreshed: bool = False,
    cacheable: bool = False,
    **extra: Any,
) -> Response:
    """Build the view model for the parsed parameters and the cache's status, and render
    it (the panel's template for a bad parameter, whatever ``template`` says).

    ``cacheable`` (a plain view): served from the fragment cache when its key is
    there, else rendered and kept (:mod:`.panel_fragments`)."""
    state = get_state()
    locale = _locale(ctx)
    store = fragment_store()
    key = None
    if cacheable and parsed.error is None and not isinstance(store, NoFragments):
        key = fragment_key_for(
            ctx, parsed, cache, template=template, locale=locale, heading=current_heading()
        )
        text = store.get(key)
        if text is not None:
            return answer(text, _new_url(ctx.ref, parsed.params, replace_history))
    vm = build_panel_view(
        ctx.session,
        ctx.inputs(),
        parsed,
        cache,
        urls=panel_urls(ctx.ref, parsed.params),
        locale=locale,
        csrf_token=CSRF_SLOT if key is not None else csrf_token(),
        page_size=state.settings.page_size,
        payment_behaviour=state.settings.payment_behaviour,
        refreshed=refreshed,
    )
    if vm.param_error is not None:
        template = PANEL_TEMPLATE
    if key is not None and vm.status == 200:
        text = render_template(
            template if is_htmx() else PAGE_TEMPLATE,
            partial=template,
            vm=vm,
            heading=current_heading(),
            heading_header=HEADING_HEADER,
        )
        store.put(key, text)
        return answer(text, _new_url(ctx.ref, parsed.params, replace_history))
    return _respond(vm, template, replace_history, **extra)


def _locale(ctx: PanelContext) -> str:
    """The viewer's locale: the host's locale selector's, else ``XERO_PANEL_DEFAULT_LOCALE``."""
    state = get_state()
    return panel_locale(
        state.panel.current_locale(), ctx.organisations, state.settings.default_locale
    )


def _respond(vm: PanelView, template: str, replace_history: bool, **extra: Any) -> Response:
    # After a bad value the address bar holds what was sent, so a reload shows the
    # same error, not the list of the last good values.
    sent = vm.params if vm.status == 200 else _sent_state()
    return render_partial_or_page(
        template,
        PAGE_TEMPLATE,
        status=vm.status,
        replace_url=_new_url(vm.inputs.record, sent, replace_history),
        vm=vm,
        heading=current_heading(),
        heading_header=HEADING_HEADER,
        **extra,
    )


def _new_url(
    ref: RecordRef, state: PanelParams | dict[str, str], replace_history: bool
) -> str | None:
    """The host page's URL with the panel's state, for htmx's address bar (htmx only)."""
    browser_url = current_url()
    if not (replace_history and is_htmx() and browser_url):
        return None
    path = url_for("xero_panel.panel", record_type=ref.record_type, record_id=ref.record_id)
    return replace_url(browser_url, state, path)


def _sent_state() -> dict[str, str]:
    """The panel's parameters as the request sent them (non-empty ones)."""
    return {name: value for name in PARAM_NAMES if (value := request.values.get(name, ""))}


def _panel_request(record_type: str, record_id: str, *, post: bool) -> PanelContext | Response:
    """Login, viewer, record and match for a panel request; POSTs also check CSRF."""
    redirect = require_login()
    if redirect is not None:
        return redirect
    ctx = resolve(record_type, record_id)
    if post:
        check_csrf()
    return ctx


# -- routes ----------------------------------------------------------------------------------


def panel(record_type: str, record_id: str) -> Response:
    """The panel for one CRM record: a partial for htmx, a whole page otherwise.

    ``view``, ``q``, ``from``, ``to`` and ``page`` choose the list; bad values give 400
    and a ``panel-error``. With htmx and ``page`` > 1 only the rows are returned (for
    *Load more*).
    """
    return _show_panel(record_type, record_id, refresh=False)


def refresh(record_type: str, record_id: str) -> Response:
    """*Refresh*: a targeted sync of the record's contacts, then the panel again; within
    the fair use of :mod:`~xero_panel.sync.refresh_gate`: a press while the record's refresh
    is in flight joins it, a press within the record's cooldown or past the user's limit
    shows the cache with one notice saying when *Refresh* works again (no Xero call)."""
    ctx = _panel_request(record_type, record_id, post=True)
    if isinstance(ctx, Response):
        return ctx
    parsed = read_panel_params(request.values)
    if parsed.error is not None:  # a bad parameter: nothing is asked of the sync
        return _render(ctx, parsed, None)
    if not ctx.organisations:
        return _show_panel(record_type, record_id, refresh=True, ctx=ctx)
    state = get_state()
    gate = state.backends.refresh_gate
    record = f"{ctx.ref.crm_account}:{ctx.ref.record_type}:{ctx.ref.record_id}"
    user = f"{ctx.ref.crm_account}:{current_user.get_id()}"
    turn = gate.ask(record, user)
    if turn.verdict == "go":
        try:
            return _show_panel(record_type, record_id, refresh=True, ctx=ctx)
        finally:
            gate.finish(record)
    if turn.verdict == "join":
        gate.wait_finished(record, state.settings.sync_wait)
    cache = cache_for_view(ctx, cache_only=True)
    if turn.verdict == "join":
        started = _utc(turn.last_at) if turn.last_at is not None else utcnow()
        return _render(ctx, parsed, cache, refreshed=updated_just_now(cache, started))
    assert turn.retry_at is not None
    fmt = Formatter(_locale(ctx))
    notice = refresh_notice(turn.verdict, _utc(turn.retry_at), cache, fmt)
    return _render(ctx, parsed, cache, refresh_refused=notice)


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _show_panel(
    record_type: str, record_id: str, *, refresh: bool, ctx: PanelContext | None = None
) -> Response:
    if ctx is None:
        found = _panel_request(record_type, record_id, post=refresh)
        if isinstance(found, Response):
            return found
        ctx = found
    parsed = read_panel_params(request.values if refresh else request.args)
    if parsed.error is not None:  # a bad parameter: nothing is asked of the sync
        return _render(ctx, parsed, None)
    live = not refresh and request.headers.get(LIVE_HEADER) == "1"
    asked = utcnow()
    cache = cache_for_view(ctx, refresh=refresh, cache_only=live)
    if not refresh and is_htmx() and parsed.params.page > 1:
        more = "xero_panel/partials/more_rows.html"
        return _render(ctx, parsed, cache, template=more, replace_history=False, cacheable=True)
    if refresh:
        return _render(ctx, parsed, cache, refreshed=updated_just_now(cache, asked))
    return _render(ctx, parsed, cache, cacheable=True)


def version(record_type: str, record_id: str) -> Response:
    """The live update's cheap check: 204 when the cache's fingerprint of the record's panel
    is still ``v``, else 200 with the new one (a few bytes). Reads the cache only."""
    ctx = _panel_request(record_type, record_id, post=False)
    if isinstance(ctx, Response):
        return ctx
    current = record_version(ctx.session, ctx.organisations, ctx.match.keys(), ctx.ref)
    if request.args.get("v") == current:
        response = Response(status=204)
    else:
        response = Response(current, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def pin(record_type: str, record_id: str, organisation_id: int, invoice_id: str) -> Response:
    """Pin (``POST``) or unpin (``DELETE``) an invoice on a record, for everyone in the CRM
    account; idempotent. Answers with the invoice's row."""
    ctx = _panel_request(record_type, record_id, post=True)
    if isinstance(ctx, Response):
        return ctx
    row = set_pin(
        ctx.session,
        ctx.organisations,
        ctx.match.keys(),
        record=ctx.ref,
        organisation_id=organisation_id,
        invoice_id=invoice_id,
        pinned=request.method == "POST",
        pinned_by=_user_label(),
    )
    if row is None:
        raise PanelError(404, "This invoice is not one of this record's Xero invoices.")
    ctx.session.commit()
    params = read_panel_params(request.values).params  # a bad value: the row all the same
    row_only = "xero_panel/partials/row_only.html"
    return _render(
        ctx,
        ParsedPanelParams.valid(params),
        None,
        template=row_only,
        replace_history=False,
        row=row,
    )


def _require_linker() -> None:
    if not get_state().panel.may_link():
        raise PanelError(403, "Only an admin of your CRM account can link Xero contacts.")


def link_search(record_type: str, record_id: str) -> Response:
    """The *Link Xero contact* search: cached Xero contacts whose name or email contains
    ``contact_q``."""
    ctx = _panel_request(record_type, record_id, post=False)
    if isinstance(ctx, Response):
        return ctx
    _require_linker()
    text = (request.args.get("contact_q") or "").strip()
    if len(text) > 100:
        raise PanelError(400, "contact_q must be at most 100 characters")
    choices = search_contacts(ctx.session, ctx.organisations, text)
    return render_partial_or_page(
        "xero_panel/partials/link_results.html",
        PAGE_TEMPLATE,
        choices=choices,
        text=text,
        multi_org=len(ctx.organisations) > 1,
        links_url=url_for("xero_panel.links", record_type=record_type, record_id=record_id),
        record_type=record_type,
        record_id=record_id,
    )


def links(record_type: str, record_id: str) -> Response:
    """Link the record to a cached Xero contact (``organisation_id``, ``contact_id``); the
    link replaces matching. Answers with the panel."""
    ctx = _panel_request(record_type, record_id, post=True)
    if isinstance(ctx, Response):
        return ctx
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


def delete_link(
    record_type: str, record_id: str, organisation_id: int, contact_id: str
) -> Response:
    """Remove one of the record's links (idempotent); without links, matching applies
    again. Answers with the panel."""
    ctx = _panel_request(record_type, record_id, post=True)
    if isinstance(ctx, Response):
        return ctx
    _require_linker()
    unlink_contact(
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
    """The panel after a link changed, telling the page (the health page's coverage)."""
    ctx = resolve(record_type, record_id)
    parsed = read_panel_params(request.values)
    if parsed.error is not None:  # a bad value: the default list, with no error shown
        parsed = ParsedPanelParams.valid(PanelParams())
    return trigger(_render(ctx, parsed, cache_for_view(ctx)), LINKED_EVENT)


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


def register(bp: Blueprint) -> None:
    """Add the panel's routes to the plugin's blueprint."""
    base = "/panel/<record_type>/<record_id>"
    bp.add_url_rule(base, view_func=panel, methods=["GET"])
    bp.add_url_rule(f"{base}/refresh", view_func=refresh, methods=["POST"])
    bp.add_url_rule(f"{base}/version", view_func=version, methods=["GET"])
    pins = f"{base}/pins/<int:organisation_id>/<invoice_id>"
    bp.add_url_rule(pins, view_func=pin, methods=["POST", "DELETE"])
    bp.add_url_rule(f"{base}/links/search", view_func=link_search, methods=["GET"])
    bp.add_url_rule(f"{base}/links", view_func=links, methods=["POST"])
    unlinks = f"{base}/links/<int:organisation_id>/<contact_id>"
    # The endpoint stays "unlink" (panel_context builds the Unlink URL with it).
    bp.add_url_rule(unlinks, "unlink", view_func=delete_link, methods=["DELETE"])
