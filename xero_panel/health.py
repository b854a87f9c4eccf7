"""What the admin's health page shows, as plain queries: per organisation, what the cache
holds, when it last synced, the webhooks, the Xero calls counted, the last error; and the
match coverage of the CRM account's contacts and accounts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .clock import utcnow
from .matching import match_record
from .models import Connection, Organisation, SyncState, WebhookEvent, WebhookTenant
from .records import CRMRecord
from .sync.org_state import OrgState, state_of
from .sync.state import cached_counts
from .sync.webhook_mode import Mode, WebhookModes
from .xero.call_counter import CallCounter

#: The record types whose match coverage the page shows (deals match through these).
COVERAGE_TYPES = ("contact", "account")


@dataclass(frozen=True)
class OrganisationHealth:
    """One organisation's numbers on the health page."""

    organisation: Organisation
    invoices: int
    credit_notes: int
    contacts: int
    last_full_sync: dt.datetime | None
    last_incremental_sync: dt.datetime | None
    last_webhook: dt.datetime | None
    calls_today: int
    calls_this_minute: int
    last_error: str | None
    last_error_at: dt.datetime | None
    #: The organisation's state (:mod:`xero_panel.sync.org_state`), the one reps see too.
    state: OrgState = field(default_factory=OrgState)
    #: Records the last sync that skipped any could not store: how many, why, when.
    skipped_records: int = 0
    skipped_reason: str | None = None
    skipped_at: dt.datetime | None = None
    #: How its cache is kept fresh: webhooks (since when) or polling (and why).
    mode: Mode | None = None
    #: Its share of the calls every organisation the plugin serves made today (0 to 1;
    #: ``None`` before the first call of the day).
    share_today: float | None = None

    @property
    def status_text(self) -> str:
        """The state in words for admins: what happened, since when, what to press."""
        return admin_status(self.state)


def organisation_health(
    session: Session,
    connection: Connection,
    counter: CallCounter,
    *,
    modes: WebhookModes | None = None,
) -> list[OrganisationHealth]:
    """The numbers of each organisation the CRM account uses. The call counts are those of
    the one call counter every Xero call goes through (the rate budget records each call).

    The share of calls today is of every organisation the plugin serves (one count read per
    organisation in its tables).

    :param modes: the webhook-first rules, to say each organisation's mode (none: not said).
    """
    everyone = session.scalars(select(Organisation.tenant_id).distinct()).all()
    app_today = sum(counter.count(tenant).today for tenant in everyone)
    rows = []
    for organisation in sorted(
        (o for o in connection.organisations if o.selected), key=lambda o: (o.name, o.id)
    ):
        state = session.get(SyncState, organisation.id)
        counts = cached_counts(session, organisation.id)
        calls = counter.count(organisation.tenant_id)
        last_webhook = session.scalar(
            select(func.max(WebhookEvent.received_at)).where(
                WebhookEvent.tenant_id == organisation.tenant_id
            )
        )
        error, error_at = (state.last_error, state.last_error_at) if state else (None, None)
        if connection.last_error and (
            error_at is None
            or (connection.last_error_at is not None and connection.last_error_at > error_at)
        ):
            error, error_at = connection.last_error, connection.last_error_at
        org_state = state_of(connection.status, connection.reconnect_started_at, state)
        heard = session.get(WebhookTenant, organisation.tenant_id) if modes else None
        rows.append(
            OrganisationHealth(
                organisation=organisation,
                invoices=counts["invoices"],
                credit_notes=counts["credit_notes"],
                contacts=counts["contacts"],
                last_full_sync=state.full_sync_completed_at if state else None,
                last_incremental_sync=state.fresh_at if state else None,
                last_webhook=last_webhook,
                calls_today=calls.today,
                calls_this_minute=calls.this_minute,
                last_error=error,
                last_error_at=error_at,
                state=org_state,
                skipped_records=state.skipped_records if state else 0,
                skipped_reason=state.skipped_reason if state else None,
                skipped_at=state.skipped_at if state else None,
                mode=modes.mode(heard, utcnow()) if modes else None,
                share_today=calls.today / app_today if app_today else None,
            )
        )
    return rows


#: Xero's rate limits, as admins read them (``RateLimited.problem`` -> words).
LIMITS = {
    "minute": "limit of 60 calls a minute",
    "day": "limit of 5,000 calls a day",
    "appminute": "app-wide limit of calls a minute (all organisations together)",
    "concurrent": "limit of 5 calls at once",
}


def _at(when: dt.datetime | None) -> str:
    return f" since {when.strftime('%Y-%m-%d %H:%M')} UTC" if when is not None else ""


def admin_status(state: OrgState) -> str:
    """An organisation's state in words for admins: what happened, since when, and what to
    press (reps read the same state in :mod:`xero_panel.panel.notices`)."""
    since = _at(state.since)
    if state.reason == "ok":
        if state.last_call_at is None:
            return "Working."
        took = f" in {state.last_call_ms} ms" if state.last_call_ms is not None else ""
        return f"Working: Xero last answered at {state.last_call_at.strftime('%H:%M')} UTC{took}."
    if state.reason == "first-sync":
        return "Getting invoices from Xero for the first time."
    if state.reason == "slow":
        took = (
            f" (its last answer took {state.last_call_ms / 1000:.1f} s)"
            if state.last_call_ms
            else ""
        )
        return (
            f"Xero is slow to answer{took}{since}. Reps see the cache with its age;"
            " nothing to press."
        )
    if state.reason == "rate-limited":
        limit = LIMITS.get(state.limit or "", "rate limit")
        resume = (
            f"; calls resume at {state.retry_at.strftime('%H:%M:%S')} UTC"
            if state.retry_at is not None
            else ""
        )
        whose = "" if state.limit == "appminute" else " for this organisation"
        return f"Xero's {limit}{whose} was reached{since}{resume}."
    if state.reason == "needs-reconnect":
        return f"Xero stopped accepting this connection{since}: press Reconnect, then Save."
    if state.reason == "reconnecting":
        return f"Reconnecting{since}: choose the organisations and press Save."
    what = "cannot be reached" if state.reason == "unreachable" else "answers with errors"
    return (
        f"Xero {what}{since}. xero-panel tries again by itself while the panel is viewed;"
        " press Test connection to try now."
    )


@dataclass(frozen=True)
class UnmatchedRecord:
    record_type: str
    record_id: str
    name: str


@dataclass(frozen=True)
class Coverage:
    """How many of the CRM account's contacts and accounts match a Xero contact, and one
    page of those that do not."""

    totals: dict[str, int]
    matched: dict[str, int]
    unmatched: list[UnmatchedRecord]
    unmatched_total: int
    page: int
    pages: int


def match_coverage(
    session: Session,
    organisations: Sequence[Organisation],
    *,
    crm_account: str,
    records: Iterable[tuple[str, str, CRMRecord]],
    page: int = 1,
    per_page: int = 20,
) -> Coverage:
    """Match each listed record (``(record_type, record_id, record)``) against the cache,
    with the same rules (and explicit links) as the panel."""
    totals = dict.fromkeys(COVERAGE_TYPES, 0)
    matched = dict.fromkeys(COVERAGE_TYPES, 0)
    unmatched = []
    for record_type, record_id, record in records:
        if record_type not in totals:
            continue
        totals[record_type] += 1
        found = match_record(
            session,
            organisations,
            crm_account=crm_account,
            record_type=record_type,
            record_id=record_id,
            record=record,
        )
        if found.contacts:
            matched[record_type] += 1
        else:
            unmatched.append(UnmatchedRecord(record_type, record_id, record.name))
    pages = max(1, -(-len(unmatched) // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return Coverage(
        totals, matched, unmatched[start : start + per_page], len(unmatched), page, pages
    )
