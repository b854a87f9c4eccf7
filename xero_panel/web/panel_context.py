"""What one panel request works on: the viewer, the record, its organisations and matched
Xero contacts (:func:`resolve`), the sync's answer about the cache (:func:`cache_for_view`),
and the panel's URLs for the view model (:func:`panel_urls`).

:func:`resolve` reads the account's connection, organisations and sync snapshots in one
statement (:mod:`xero_panel.account_state`) and reuses the record's match while its stamp
stands (:mod:`xero_panel.known_matches`), so a view of a fresh cache whose match is known
runs no other statement before its panel's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from flask import url_for
from sqlalchemy.orm import Session

from ..account_state import read_account_state
from ..matching import Match, MatchedContact, match_record
from ..models import Connection, Organisation
from ..panel.params import PanelParams
from ..panel.rows import InvoiceRow, RecordRef
from ..panel.view_model import PanelInputs, PanelUrls
from ..state import get_state
from ..sync.freshness import Snapshot
from ..sync.state import CacheStatus, read_cache_status
from .blueprint import Viewer, current_viewer, dom_id, load_record


@dataclass
class PanelContext:
    """Everything a panel request resolved before querying: who, which record, which
    organisations, which Xero contacts."""

    viewer: Viewer
    ref: RecordRef
    session: Session
    connection: Connection | None
    organisations: list[Organisation]
    match: Match
    #: The organisations' snapshots, read with them (the scheduler's start).
    snapshots: Sequence[Snapshot] = ()

    def inputs(self) -> PanelInputs:
        return PanelInputs(
            record=self.ref,
            viewer_is_admin=self.viewer.is_admin,
            connection_status=self.connection.status if self.connection else None,
            organisations=self.organisations,
            match=self.match,
            may_link=get_state().panel.may_link(),
        )


def resolve(record_type: str, record_id: str) -> PanelContext:
    viewer = current_viewer()
    record = load_record(record_type, record_id)
    session = get_state().panel.db.session()
    account = read_account_state(session, viewer.crm_account)
    known = get_state().backends.matches
    stamp = account.match_stamp(record_type, record_id, record) if account.organisations else None
    match = known.get(stamp) if stamp is not None else None
    if match is None:
        match = match_record(
            session,
            account.organisations,
            crm_account=viewer.crm_account,
            record_type=record_type,
            record_id=record_id,
            record=record,
        )
        if stamp is not None:
            known.put(stamp, match)
    ref = RecordRef(viewer.crm_account, record_type, record_id)
    return PanelContext(
        viewer,
        ref,
        session,
        account.connection,
        account.organisations,
        match,
        account.snapshots,
    )


def cache_for_view(
    ctx: PanelContext, *, refresh: bool = False, cache_only: bool = False
) -> CacheStatus | None:
    """How the cache behind this view stands: freshened first as the scheduler decides
    (:meth:`~xero_panel.sync.scheduling.Scheduler.ensure_fresh`), or forced for *Refresh*
    (``refresh_record``), or (``cache_only``, the live update's reload) read as it stands
    without asking the scheduler (:func:`~xero_panel.sync.state.read_cache_status`)."""
    if not ctx.organisations:
        return None
    scheduler = get_state().scheduler
    if cache_only:
        status = read_cache_status(ctx.session, [o.id for o in ctx.organisations])
    else:
        commit_and_release(ctx.session)
        if refresh:
            status = scheduler.refresh_record(
                ctx.session, ctx.organisations, contact_ids=ctx.match.keys()
            )
        else:
            status = scheduler.ensure_fresh(
                ctx.session,
                ctx.organisations,
                contact_ids=ctx.match.keys(),
                snapshots=ctx.snapshots,
            )
    return status


def commit_and_release(session: Session) -> None:
    """Commit the request session's transaction, releasing its database connection, before
    the sync may wait for a refresh (its own or another request's), so that waiting holds
    no database connection: a burst of views of stale data must not drain the pool. The
    objects the request loaded stay loaded (not expired); the next query starts a new
    transaction."""
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


#: What Werkzeug leaves unencoded in a query it builds (the WHATWG URL standard's set).
QUERY_SAFE = "!$'()*,/:;?@"


def panel_urls(ref: RecordRef, params: PanelParams) -> PanelUrls:
    """The URLs of a record's panel; ``params`` is the list's state that *Refresh* keeps."""

    def at(endpoint: str, **values: Any) -> str:
        return url_for(
            f"xero_panel.{endpoint}", record_type=ref.record_type, record_id=ref.record_id, **values
        )

    # The panel's path is built once per answer; each of its many links only adds a query,
    # encoded as Werkzeug's URL building encodes one.
    path = at("panel")

    def panel(target: PanelParams, **extra: object) -> str:
        query: dict[str, Any] = dict(target.state())
        query.update({k: v for k, v in extra.items() if v not in (None, "")})
        return f"{path}?{urlencode(query, safe=QUERY_SAFE)}" if query else path

    # Built once per answer, not once per row: the pins' common prefix.
    pins = at("pin", organisation_id=0, invoice_id="-").rsplit("/", 2)[0]

    def pin(row: InvoiceRow) -> str:
        return f"{pins}/{row.organisation_id}/{quote(row.invoice_id, safe='')}"

    def unlink(contact: MatchedContact) -> str:
        return at("unlink", organisation_id=contact.organisation_id, contact_id=contact.contact_id)

    return PanelUrls(
        panel=panel,
        pin=pin,
        unlink=unlink,
        dom_id=lambda *parts: dom_id(ref.record_type, ref.record_id, *parts),
        refresh=at("refresh", **params.state()),
        version=at("version"),
        link_search=at("link_search"),
        deep_link_base=get_state().settings.deep_link_url,
    )
