"""The one decision of an organisation's state (xero_panel.sync.org_state) and each
audience's words for it (xero_panel.panel.notices for reps, xero_panel.health for admins),
without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from xero_panel.health import admin_status
from xero_panel.models import SyncState
from xero_panel.panel.formatting import Formatter
from xero_panel.panel.notices import rep_notice, updated_just_now
from xero_panel.sync.org_state import (
    REASONS,
    TROUBLE_RETRY_FIRST,
    OrgState,
    retry_due,
    state_of,
    worst,
)
from xero_panel.sync.state import CacheStatus

NOW = dt.datetime(2030, 6, 1, 10, 0, tzinfo=dt.UTC)


def sync(**fields: object) -> SyncState:
    values: dict[str, object] = {
        "organisation_id": 1,
        "status": "idle",
        "full_sync_completed_at": NOW - dt.timedelta(days=1),
        "fresh_at": NOW - dt.timedelta(minutes=10),
        "failures": 0,
    }
    values.update(fields)
    return SyncState(**values)


def test_the_connection_and_the_last_call_decide_the_state() -> None:
    assert state_of("active", None, sync()).reason == "ok"
    assert state_of("active", None, None).reason == "ok"
    running = sync(status="running", full_sync_completed_at=None)
    assert state_of("active", None, running).reason == "first-sync"
    down = sync(trouble="unreachable", trouble_since=NOW, last_error="Xero could not be reached.")
    state = state_of("active", None, down)
    assert (state.reason, state.since, state.detail) == (
        "unreachable",
        NOW,
        "Xero could not be reached.",
    )
    # Trouble wins over the first sync's progress: the rep learns why it stalls.
    assert state_of("active", None, sync(trouble="xero-error", status="running")).reason == (
        "xero-error"
    )
    limited = sync(trouble="rate-limited", retry_at=NOW, rate_limit="day")
    assert (
        state_of("active", None, limited).limit,
        state_of("active", None, limited).retry_at,
    ) == (
        "day",
        NOW,
    )
    assert state_of("needs_reconnect", None, down).reason == "needs-reconnect"
    assert state_of("active", NOW, down).reason == "reconnecting"
    # Saved again after a reconnect: the old grant's refusal no longer speaks.
    assert state_of("active", None, sync(trouble="needs-reconnect")).reason == "ok"


def test_the_worst_state_of_several_organisations_speaks() -> None:
    assert worst([]).reason == "ok"
    order = [OrgState(reason) for reason in REASONS]
    assert worst(order).reason == "needs-reconnect"
    assert worst([OrgState("slow"), OrgState("unreachable"), OrgState("ok")]).reason == (
        "unreachable"
    )
    older = OrgState("xero-error", since=NOW - dt.timedelta(hours=1))
    assert worst([OrgState("xero-error", since=NOW), older]) is older


def test_retries_back_off_and_wait_for_xeros_retry_after() -> None:
    failed = sync(trouble="unreachable", failures=1, last_call_at=NOW)
    assert not retry_due(failed, NOW + dt.timedelta(seconds=TROUBLE_RETRY_FIRST - 1), 60)
    assert retry_due(failed, NOW + dt.timedelta(seconds=TROUBLE_RETRY_FIRST), 60)
    thrice = sync(trouble="unreachable", failures=3, last_call_at=NOW)
    assert not retry_due(thrice, NOW + dt.timedelta(seconds=59), 60)  # 15, 30, then the TTL
    assert retry_due(thrice, NOW + dt.timedelta(seconds=60), 60)
    limited = sync(
        trouble="rate-limited", failures=1, last_call_at=NOW, retry_at=NOW + dt.timedelta(hours=1)
    )
    assert not retry_due(limited, NOW + dt.timedelta(minutes=59), 60)
    assert retry_due(limited, NOW + dt.timedelta(hours=1), 60)


FMT = Formatter("en_NZ", NOW)


def status(reason: str = "ok", **fields: object) -> CacheStatus:
    state = OrgState(reason, since=NOW - dt.timedelta(minutes=3), last_call_at=NOW)  # type: ignore[arg-type]
    values: dict[str, object] = {"fresh_at": NOW - dt.timedelta(minutes=5), "state": state}
    values.update(fields)
    return CacheStatus(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("reason", [r for r in REASONS if r not in ("ok", "first-sync")])
def test_reps_read_one_plain_sentence_with_the_caches_age(reason: str) -> None:
    notice = rep_notice(status(reason), FMT)
    assert notice is not None and notice.reason == reason
    assert notice.text.endswith(".") and "5 minutes ago" in notice.text
    for never in ("HTTP", "500", "asked to", "showing cached data"):
        assert never not in notice.text
    words = admin_status(OrgState(reason, since=NOW))  # type: ignore[arg-type]
    assert "since 2030-06-01 10:00 UTC" in words


def test_no_notice_when_all_is_well_and_slow_while_a_refresh_still_waits() -> None:
    assert rep_notice(status("ok"), FMT) is None
    waiting = rep_notice(status("ok", still_fetching=True), FMT)
    assert waiting is not None and waiting.reason == "slow"
    never = rep_notice(status("unreachable", fresh_at=None), FMT)
    assert never is not None and "showing the invoices stored so far" in never.text


def test_updated_just_now_only_after_a_call_that_completed_and_was_stored() -> None:
    asked = NOW - dt.timedelta(seconds=1)
    assert updated_just_now(status("ok"), asked)
    assert not updated_just_now(status("ok", still_fetching=True), asked)
    assert not updated_just_now(status("unreachable"), asked)
    assert not updated_just_now(status("ok"), NOW + dt.timedelta(seconds=1))  # an older call
    assert not updated_just_now(None, asked)


def test_admins_read_what_to_press() -> None:
    assert "press Reconnect, then Save" in admin_status(OrgState("needs-reconnect"))
    assert "press Test connection" in admin_status(OrgState("unreachable"))
    limited = OrgState("rate-limited", limit="day", retry_at=NOW)
    assert admin_status(limited) == (
        "Xero's limit of 5,000 calls a day for this organisation was reached;"
        " calls resume at 10:00:00 UTC."
    )
    assert admin_status(OrgState("ok", last_call_at=NOW, last_call_ms=240)) == (
        "Working: Xero last answered at 10:00 UTC in 240 ms."
    )
