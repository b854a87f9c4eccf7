"""The panel's rendered fragments, served again while nothing they show has changed.

:func:`fragment_key_for` names everything a panel's HTML depends on (see
:mod:`xero_panel.panel.fragment_cache`): the CRM account and record, the view's parameters
(as parsed, and as typed back into the form), the record's matched contacts and the
organisations (names, short codes, zones and each one's "today"), the cache's state and
notice, the record's data and pins (:func:`~xero_panel.panel.summaries.content_version`,
read only when the panel shows the list), the viewer's locale, rights and heading, the
plugin's version, its templates as this app finds them, and the settings the HTML shows.
:func:`answer` sends a fragment with the session's CSRF token put in its slot.
"""

from __future__ import annotations

import hashlib
import weakref

from flask import Flask, Response, current_app, request

from ..clock import utcnow
from ..panel.formatting import Formatter
from ..panel.fragment_cache import CSRF_SLOT, FragmentStore, fragment_key
from ..panel.notices import rep_notice
from ..panel.params import ParsedPanelParams
from ..panel.summaries import content_version
from ..panel.view_model import panel_mode
from ..panel.view_rules import today_in
from ..state import get_state
from ..sync.state import CacheStatus
from ..version import __version__
from .csrf import csrf_token
from .htmx import is_htmx, text_answer
from .panel_context import PanelContext
from .widgets import Heading

__all__ = ["answer", "fragment_key_for", "fragment_store"]

#: Each app's hash of the panel's templates as its Jinja loader finds them (a host's own
#: override included), worked out once (again on every request when templates reload).
_template_hashes: weakref.WeakKeyDictionary[Flask, str] = weakref.WeakKeyDictionary()


def fragment_store() -> FragmentStore:
    """The app's store of rendered fragments (``NoFragments`` when the cache is off)."""
    return get_state().backends.fragments


def fragment_key_for(
    ctx: PanelContext,
    parsed: ParsedPanelParams,
    cache: CacheStatus | None,
    *,
    template: str,
    locale: str,
    heading: Heading,
) -> str:
    """The key of this request's panel fragment. Runs one statement when the panel shows
    the list (the record's :func:`~xero_panel.panel.summaries.content_version`), none
    otherwise."""
    now = utcnow()
    inputs = ctx.inputs()
    mode = panel_mode(inputs, cache)
    version = ""
    if mode == "list":
        version = content_version(ctx.session, ctx.organisations, ctx.match.keys(), ctx.ref)
    notice = rep_notice(
        cache, Formatter(locale, now), needs_reconnect=inputs.connection_status == "needs_reconnect"
    )
    settings = get_state().settings
    return fragment_key(
        __version__,
        _templates_hash(current_app._get_current_object()),  # type: ignore[attr-defined]
        template,
        is_htmx(),  # else the whole page around it
        request.script_root,
        settings.deep_link_url,
        settings.page_size,
        settings.payment_behaviour,
        ctx.ref,
        inputs.viewer_is_admin,
        inputs.may_link,
        inputs.connection_status,
        tuple(
            (o.id, o.name, o.short_code, o.timezone, today_in(o, now)) for o in ctx.organisations
        ),
        now.date(),
        ctx.match.linked,
        tuple((c.organisation_id, c.contact_id, c.name, c.contact_ids) for c in ctx.match.contacts),
        parsed.params,
        sorted(parsed.form.items()),
        parsed.view_invalid,
        mode,
        _status_part(cache),
        (notice.reason, notice.text) if notice else None,
        version,
        locale,
        heading,
    )


def _status_part(cache: CacheStatus | None) -> object:
    """What the panel shows of the cache's state (beside its notice)."""
    if cache is None:
        return None
    return (
        cache.fresh_at,
        cache.first_sync_running,
        cache.progress_done,
        cache.progress_total,
        cache.state.reason,
        cache.still_fetching,
    )


def _templates_hash(app: Flask) -> str:
    known = _template_hashes.get(app)
    if known is not None and not app.jinja_env.auto_reload:
        return known
    env = app.jinja_env
    digest = hashlib.sha256()
    names = env.list_templates(filter_func=lambda name: name.startswith("xero_panel/"))
    for name in sorted(names):
        source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        digest.update(name.encode() + b"\0" + source.encode() + b"\0")
    known = digest.hexdigest()
    _template_hashes[app] = known
    return known


def answer(text: str, replace_url: str | None) -> Response:
    """A stored (or just stored) fragment as the answer: the session's CSRF token in its
    slot, and htmx's headers as for any panel answer (:func:`.htmx.text_answer`)."""
    return text_answer(text.replace(CSRF_SLOT, csrf_token()), replace_url=replace_url)
