"""The admin's health page: per organisation, the cache, the syncs, the webhooks, the Xero
calls counted today and this minute, and the last error; then the match coverage of the CRM
account's contacts and accounts, with the unmatched ones listed (paged)."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from ..health import COVERAGE_TYPES, match_coverage, organisation_health
from ..state import get_state
from .admin_common import admin_only, to_settings, watching, webhook_modes
from .blueprint import Viewer, connection_of
from .htmx import add_vary

#: Unmatched records listed per page.
PER_PAGE = 20


@admin_only
def health_page(viewer: Viewer) -> BaseResponse:
    state = get_state()
    session = state.panel.db.session()
    connection = connection_of(viewer.crm_account)
    if connection is None:
        return to_settings()
    rows = organisation_health(
        session, connection, state.backends.counter, modes=webhook_modes(state)
    )
    listed = {t: state.panel.list_records(t) for t in COVERAGE_TYPES}
    coverage = None
    if all(records is not None for records in listed.values()):
        try:
            page = max(1, int(request.args.get("page", "1")))
        except ValueError:
            page = 1
        coverage = match_coverage(
            session,
            [row.organisation for row in rows],
            crm_account=viewer.crm_account,
            records=[
                (record_type, record_id, record)
                for record_type, records in listed.items()
                for record_id, record in records or []
            ],
            page=page,
            per_page=PER_PAGE,
        )
    return add_vary(
        make_response(
            render_template(
                "xero_panel/health.html",
                connection=connection,
                rows=rows,
                watch_health=watching(rows),
                coverage=coverage,
                settings=state.settings,
            )
        )
    )


def register(bp: Blueprint) -> None:
    """Add the health page to the plugin's blueprint."""
    bp.add_url_rule("/health", view_func=health_page, methods=["GET"])
