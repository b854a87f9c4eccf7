"""Every failure clears by itself and every message is true: Xero faults injected at the
emulator and cleared again, seen as Acme's rep (the panel's one notice) and admin (the
organisation's ``data-state``), with the clock moved by the test.

Each test here failed before the organisation's state was decided in one place
(xero_panel.sync.org_state): the rep kept an outage's notice after Xero was back, a
reconnect did not clear "must reconnect", outages turned into "reconnect", and two notices
could stack up.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from sqlalchemy import select

from tests.admin_support import (
    connect,
    press_test_connection,
    save,
    wait_for_background_jobs,
)
from tests.clock import Clock
from tests.conftest import HostApp
from tests.two_accounts import SUPPLIES, saved_acme
from xero_panel.models import Connection, Organisation, SyncState
from xero_panel.state import get_state
from xero_panel.sync.org_state import TROUBLE_RETRY_FIRST

PANEL = "/integrations/xero/panel/account/9"
SETTINGS = "/integrations/xero/settings"
HX = {"HX-Request": "true"}
NOTICE = re.compile(
    r'<[a-z]+ class="xp-notice[^"]*" data-testid="panel-notice" data-reason="([a-z-]+)"[^>]*>'
    r"\s*(?:<p>)?([^<]*)"
)
#: Injected faults and the state each puts the organisation in.
FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "drop": ({"endpoint": "Invoices", "drop": True}, "unreachable"),
    "500": ({"endpoint": "Invoices", "status": 500}, "xero-error"),
    "503": ({"endpoint": "Invoices", "status": 503}, "xero-error"),
    "429": ({"endpoint": "Invoices", "status": 429}, "rate-limited"),
}


def org_id(host: HostApp) -> int:
    with host.app.app_context():
        return int(host.db.session.scalars(select(Organisation.id)).one())


def sync_state(host: HostApp) -> SyncState:
    with host.app.app_context():
        return host.db.session.scalars(select(SyncState)).one()


def rep_view(host: HostApp, rep: Any = None) -> str:
    """The rep's panel, once every refresh it started has ended."""
    page = (rep or host.client("rep-acme")).get(PANEL, headers=HX)
    assert page.status_code == 200
    locks = get_state(host.app).scheduler.locks  # type: ignore[attr-defined]
    assert locks.wait_unlocked(f"refresh:{org_id(host)}", 30)
    return str(page.text)


def notices(page: str) -> list[tuple[str, str]]:
    assert page.count('data-testid="panel-notice"') <= 1, "two notices on one panel"
    return [(reason, text.strip()) for reason, text in NOTICE.findall(page)]


def admin_state(admin: Any) -> str:
    (state,) = re.findall(
        r'data-testid="org-health"[^>]*data-state="([a-z-]+)"', admin.get(SETTINGS).text
    )
    return str(state)


def rep_refresh(rep: Any, page: str) -> str:
    """*Refresh* on the panel ``page`` the rep's browser (``rep``) shows."""
    (token,) = re.findall(r'"X-CSRFToken": "([^"]+)"', page)
    answer = rep.post(f"{PANEL}/refresh", headers={**HX, "X-CSRFToken": token})
    assert answer.status_code == 200
    return str(answer.text)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_an_outage_ends_for_everyone_by_itself(
    clock: Clock, host: HostApp, xero: Any, fault: str
) -> None:
    rule, reason = FAULTS[fault]
    acme = saved_acme(host, xero)
    clock.advance(seconds=3600)  # the cache is stale: the next view refreshes it
    xero.add_fault(rule)
    rep_view(host)
    page = rep_view(host)
    ((shown, text),) = notices(page)
    assert shown == reason and admin_state(acme) == reason
    assert "HTTP" not in text and "ago" in text and 'data-testid="invoice-row"' in page

    xero.faults.clear()
    # Within one retry interval (Xero's own Retry-After for a 429), and nobody presses
    # anything: the next view tries again, and the notice is gone for everyone.
    clock.advance(seconds=61 if fault == "429" else TROUBLE_RETRY_FIRST)
    rep_view(host)
    assert notices(rep_view(host)) == []
    assert admin_state(acme) == "ok"
    assert sync_state(host).fresh_at == clock.now


def test_a_reps_refresh_after_an_outage_is_a_real_try(
    clock: Clock, host: HostApp, xero: Any
) -> None:
    saved_acme(host, xero)
    clock.advance(seconds=3600)
    xero.add_fault({"endpoint": "Invoices", "drop": True})
    rep = host.client("rep-acme")
    rep_view(host, rep)
    page = rep_view(host, rep)
    assert [r for r, _ in notices(page)] == ["unreachable"]
    assert "Updated just now" not in rep_refresh(rep, page)  # Xero still down
    xero.faults.clear()
    # Once the record's Refresh cooldown (30 s) is over, the Refresh itself calls Xero,
    # whatever the backoff after the failures.
    clock.advance(seconds=30)
    after = rep_refresh(rep, page)
    assert notices(after) == [] and "Updated just now" in after
    assert after.count("Updated just now") == 1


def test_reconnect_and_save_clears_must_reconnect_at_once(
    clock: Clock, host: HostApp, xero: Any
) -> None:
    acme = saved_acme(host, xero)
    clock.advance(seconds=3600)
    xero.add_fault({"revoke_tenant": SUPPLIES})
    rep_view(host)
    ((reason, text),) = notices(rep_view(host))
    assert reason == "needs-reconnect" and "until an admin reconnects Xero" in text
    assert "asked to reconnect" not in text  # nobody is asked: the admin sees a banner
    settings = acme.get(SETTINGS).text
    assert 'data-testid="reconnect-banner"' in settings and "press Reconnect" in settings
    assert admin_state(acme) == "needs-reconnect"

    connect(acme, tenants=[SUPPLIES])  # Reconnect, sign in and allow at Xero
    assert [r for r, _ in notices(rep_view(host))] == ["reconnecting"]
    save(acme, [SUPPLIES])
    wait_for_background_jobs(host.app)  # Save started a sync with the new grant
    assert notices(rep_view(host)) == []
    assert admin_state(acme) == "ok"
    with host.app.app_context():
        connection = host.db.session.scalars(select(Connection)).one()
        assert connection.status == "active" and connection.reconnect_started_at is None


def test_outages_never_turn_into_reconnect(clock: Clock, host: HostApp, xero: Any) -> None:
    acme = saved_acme(host, xero)
    for rule, reason in (FAULTS["drop"], FAULTS["500"]):
        clock.advance(seconds=3600)
        xero.add_fault(rule)
        rep_view(host)
        assert [r for r, _ in notices(rep_view(host))] == [reason]
        assert admin_state(acme) == reason
        xero.faults.clear()
    # Several failures in a row: the retry waits longer each time, at most the cache TTL.
    clock.advance(seconds=get_state(host.app).settings.cache_ttl)
    rep_view(host)
    assert notices(rep_view(host)) == []
    with host.app.app_context():
        assert host.db.session.scalars(select(Connection.status)).one() == "active"


def test_test_connection_waits_for_xeros_retry_after_and_says_which_limit(
    clock: Clock, host: HostApp, xero: Any
) -> None:
    acme = saved_acme(host, xero)
    clock.advance(seconds=3600)
    xero.add_fault({"endpoint": "Invoices", "status": 429})
    rep_view(host)
    xero.faults.clear()
    xero.reset_stats()
    page = press_test_connection(acme).text
    assert "not tested, Xero&#39;s limit of 60 calls a minute was reached" in page
    calls = [t["calls"] for t in xero.stats()["tenants"].values()]
    assert sum(calls) == 0  # no call while Xero's Retry-After runs
    clock.advance(seconds=61)
    page = press_test_connection(acme).text
    assert "Connection works: Xero answered for" in page
    assert admin_state(acme) == "ok"
    assert notices(rep_view(host)) == []


def test_a_refresh_xero_is_slow_to_answer_does_not_say_updated(
    clock: Clock, host: HostApp, xero: Any
) -> None:
    """The view stops waiting after XERO_PANEL_SYNC_WAIT (3 s) while Xero takes 4.5 s: the
    panel says Xero is slow and shows the cache's age, not "Updated just now"; once the
    answer is stored, the next view has no notice."""
    saved_acme(host, xero)
    rep = host.client("rep-acme")
    page = rep_view(host, rep)
    xero.add_fault({"endpoint": "Invoices", "delay_ms": 4500})
    answer = rep_refresh(rep, page)
    assert "Updated just now" not in answer
    ((reason, text),) = notices(answer)
    assert reason == "slow" and text.startswith("Xero is slow to answer; showing invoices as of")
    xero.faults.clear()
    deadline = time.monotonic() + 30
    while notices(rep_view(host, rep)) and time.monotonic() < deadline:
        time.sleep(0.2)  # the fetch the view stopped waiting for ends by itself
    assert notices(rep_view(host, rep)) == []


def test_what_xero_sends_about_an_organisation_is_stored_whatever_its_length(
    host: HostApp, xero: Any
) -> None:
    """An organisation's ShortCode over 32 characters made the OAuth callback answer 500 on
    PostgreSQL (the grant existed at Xero, the CRM said "not connected")."""
    organisation = xero.tenant(SUPPLIES).organisation
    organisation["ShortCode"] = "!" + "k" * 60
    organisation["Name"] = "Kiwi Garden Supplies " + "Ltd " * 100
    acme = host.client("admin-acme")
    page = connect(acme, tenants=[SUPPLIES])
    assert page.status_code == 200 and "Choose the organisations to use" in page.text
    save(acme, [SUPPLIES])
    wait_for_background_jobs(host.app)
    with host.app.app_context():
        stored = host.db.session.scalars(select(Organisation)).one()
        assert stored.short_code == "!" + "k" * 60 and len(stored.name) > 400
    assert admin_state(acme) == "ok"


def test_records_a_sync_could_not_store_are_shown_on_the_health_page(
    host: HostApp, xero: Any
) -> None:
    acme = saved_acme(host, xero)
    assert 'data-testid="skipped-records"' not in acme.get("/integrations/xero/health").text
    with host.app.app_context():
        state = host.db.session.scalars(select(SyncState)).one()
        state.skipped_records, state.skipped_reason = 2, "INV-9: a value the database refuses"
        host.db.session.commit()
    health = acme.get("/integrations/xero/health").text
    assert 'data-testid="skipped-records" data-count="2"' in health
    assert "2 records Xero sent could not be stored" in health
    assert "INV-9: a value the database refuses" in health
