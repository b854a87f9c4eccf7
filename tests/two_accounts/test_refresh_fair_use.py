"""*Refresh* used fairly, through the panel against the emulator with the clock moved by the
test: a loop of presses on one record makes one refresh per cooldown, a user's presses over
many records are limited, a press while the record's refresh is in flight joins it; the
answers keep the panel's one notice, say when *Refresh* works again, and hold no HTTP
status."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests import conftest
from tests.admin_support import wait_for_background_jobs
from tests.clock import Clock
from tests.conftest import HostApp
from tests.two_accounts import SUPPLIES as SUPPLIES_TENANT
from tests.two_accounts import saved_acme
from tests.two_accounts.test_recovery import notices, rep_view
from tests.xero_flow import emulator_settings
from xero_panel.records import CRMRecord
from xero_panel.state import get_state

PANEL = "/integrations/xero/panel"
HX = {"HX-Request": "true"}


def calls(xero: Any) -> int:
    return sum(t["calls"] for t in xero.stats()["tenants"].values())


def press(rep: Any, page: str, record: str = "account/9") -> str:
    (token,) = re.findall(r'"X-CSRFToken": "([^"]+)"', page)
    answer = rep.post(f"{PANEL}/{record}/refresh", headers={**HX, "X-CSRFToken": token})
    assert answer.status_code == 200
    return str(answer.text)


@pytest.fixture
def make_fair_host(make_host: Any, database_url: str, xero: Any, monkeypatch: Any) -> Iterator[Any]:
    monkeypatch.setitem(
        conftest.RECORDS, ("acme", "account", "9"), CRMRecord("Totara Events Group")
    )
    made: list[HostApp] = []

    def make(**config: Any) -> HostApp:
        host = make_host(database_url, **emulator_settings(xero), **config)
        made.append(host)
        return host

    yield make
    for host in made:
        wait_for_background_jobs(host.app)
    for thread in threading.enumerate():
        if thread.name.startswith("xero-panel-") and thread is not threading.current_thread():
            thread.join(30)


def test_a_refresh_loop_calls_xero_once_per_cooldown(
    clock: Clock, make_fair_host: Any, xero: Any
) -> None:
    host = make_fair_host()
    saved_acme(host, xero)
    clock.advance(seconds=3600)
    rep = host.client("rep-acme")
    page = rep_view(host, rep)
    before = calls(xero)
    first = press(rep, page)
    assert "Updated just now" in first
    made = calls(xero)
    assert made > before
    for _ in range(10):
        again = press(rep, first)
        ((reason, text),) = notices(again)
        assert reason == "rate-limited"
        assert "Refresh works again in 30 seconds." in text
        assert "HTTP" not in text and "429" not in text
        assert "Updated just now" not in again and 'data-testid="invoice-row"' in again
    assert calls(xero) == made  # the presses inside the cooldown asked Xero nothing
    clock.advance(seconds=12)
    ((_, text),) = notices(press(rep, first))
    assert "Refresh works again in 18 seconds." in text
    clock.advance(seconds=18)
    assert "Updated just now" in press(rep, first)
    assert calls(xero) > made


def test_a_users_presses_over_many_records_are_limited(
    clock: Clock, make_fair_host: Any, xero: Any
) -> None:
    host = make_fair_host(XERO_PANEL_REFRESH_PER_USER_PER_MINUTE=2)
    saved_acme(host, xero)
    clock.advance(seconds=3600)
    rep = host.client("rep-acme")
    page = rep_view(host, rep)
    press(rep, page, "account/9")
    press(rep, page, "contact/1")
    made = calls(xero)
    answer = press(rep, page, "account/1")
    ((reason, text),) = notices(answer)
    assert reason == "rate-limited"
    assert text.startswith("You have refreshed often in the last minute;")
    assert text.endswith("Refresh works again in 1 minute.")
    assert calls(xero) == made
    admin = host.client("admin-acme")  # another user of the same account is not held
    assert notices(press(admin, rep_view(host, admin), "account/1")) == []


def test_a_press_while_the_records_refresh_runs_joins_it(
    clock: Clock, make_fair_host: Any, xero: Any
) -> None:
    host = make_fair_host(XERO_PANEL_SYNC_WAIT=0.2)
    saved_acme(host, xero)
    clock.advance(seconds=3600)
    rep = host.client("rep-acme")
    page = rep_view(host, rep)
    gate = get_state(host.app).backends.refresh_gate
    assert gate.ask("acme:account:9", "acme:admin-acme").verdict == "go"  # in flight
    made = calls(xero)
    answer = press(rep, page)
    assert calls(xero) == made  # joined: no call of its own
    assert notices(answer) == [] and 'data-testid="invoice-row"' in answer
    gate.finish("acme:account:9")
    ((reason, _),) = notices(press(rep, page))  # the joined refresh's cooldown holds
    assert reason == "rate-limited"


def test_health_shows_each_organisations_share_of_calls_today(
    make_fair_host: Any, xero: Any
) -> None:
    from tests._sync_support import add_organisation

    host = make_fair_host()
    acme = saved_acme(host, xero)
    wait_for_background_jobs(host.app)
    page = acme.get("/integrations/xero/health").text
    assert 'data-testid="calls-share" data-share="1.0000"' in page  # the only one calling
    assert "100% of all organisations' calls today" in page
    with host.app.app_context():
        add_organisation(host.db.engine, "another-tenant", crm_account="globex")
        budget = get_state(host.app).backends.budget
        mine = budget.counter.count(SUPPLIES_TENANT).today
        for _ in range(mine):  # globex's organisation made as many calls today
            with budget.acquire("another-tenant", max_wait=0, kind="webhook"):
                pass
    page = acme.get("/integrations/xero/health").text
    assert 'data-share="0.5000"' in page and "50% of all organisations' calls today" in page
