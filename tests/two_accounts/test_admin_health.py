"""The admin's health page (numbers that match the emulator's call counts and the cache,
match coverage through the host's record lister) and slow Xero told apart from an outage."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests import conftest
from tests._sync_support import SyncHost
from tests.two_accounts import SUPPLIES, saved_acme
from xero_panel.models import Organisation
from xero_panel.panel.formatting import Formatter
from xero_panel.panel.notices import rep_notice
from xero_panel.records import CRMRecord
from xero_panel.sync.state import cached_counts


def count_of(page: str, testid: str) -> int:
    found = re.search(rf'data-testid="{testid}" data-count="(\d+)"', page)
    assert found, testid
    return int(found.group(1))


def last_full_sync(page: str) -> str:
    return page.split('data-testid="last-full-sync"')[1][:40]


def assert_shows_the_cache(host: conftest.HostApp, page: str) -> dict[str, int]:
    """The page's health block is the one organisation's and counts the invoices and the
    contacts its cache holds (some of each); returns the cache's counts."""
    with host.app.app_context():
        organisation = host.db.session.scalars(select(Organisation)).one()
        counts = cached_counts(host.db.session, organisation.id)
    assert f'data-testid="org-health" data-organisation-id="{organisation.id}"' in page
    assert count_of(page, "cached-invoices") == counts["invoices"] > 0
    assert count_of(page, "cached-contacts") == counts["contacts"] > 0
    return counts


def test_health_numbers_match_the_emulator_and_the_cache(host: conftest.HostApp, xero: Any) -> None:
    acme = saved_acme(host, xero)
    # Read the page between two equal readings of the emulator's counts, so that no
    # background call lands in between (a slow machine may pause a sync for a while).
    for _ in range(50):
        before = xero.stats()["tenants"][SUPPLIES]["calls"]
        page = acme.get("/integrations/xero/health").text
        emulator_calls = xero.stats()["tenants"][SUPPLIES]["calls"]
        if before == emulator_calls and "never" not in last_full_sync(page):
            break
        time.sleep(0.2)
    counts = assert_shows_the_cache(host, page)
    assert count_of(page, "cached-credit-notes") == counts["credit_notes"]
    assert count_of(page, "calls-today") == emulator_calls > 0
    assert count_of(page, "calls-minute") == emulator_calls
    assert 'data-limit="5000"' in page
    assert "never" not in last_full_sync(page)
    assert 'data-testid="coverage-unavailable"' in page  # the test host lists no records


def test_match_coverage_lists_unmatched_records_paged_with_link(
    host: conftest.HostApp, xero: Any
) -> None:
    records = {
        "contact": [("1", CRMRecord("Ann", emails=["accounts@totaraeventsgroup.test"]))]
        + [(str(n), CRMRecord(f"Nobody {n}", emails=[f"n{n}@nowhere.test"])) for n in range(2, 27)],
        "account": [("1", CRMRecord("Totara Events Group")), ("2", CRMRecord("Unknown Ltd"))],
    }
    host.panel.record_lister(lambda record_type: records[record_type])
    acme = saved_acme(host, xero)
    page = acme.get("/integrations/xero/health").text
    assert 'data-contacts-matched="1" data-contacts-total="26"' in page
    assert 'data-accounts-matched="1" data-accounts-total="2"' in page
    assert 'data-testid="unmatched-records" data-total="26" data-page="1" data-pages="2"' in page
    assert page.count('data-testid="unmatched-record"') == 20
    assert page.count('data-testid="link-record"') == 20
    second = acme.get("/integrations/xero/health?page=2").text
    assert second.count('data-testid="unmatched-record"') == 6
    assert 'data-record-type="account" data-record-id="2"' in second


def test_match_coverage_names_only_the_record_types_the_crm_has(
    host: conftest.HostApp, xero: Any
) -> None:
    records: dict[str, list[tuple[str, CRMRecord]]] = {
        "contact": [("1", CRMRecord("Ann", emails=["accounts@totaraeventsgroup.test"]))],
        "account": [],
    }
    host.panel.record_lister(lambda record_type: records[record_type])
    acme = saved_acme(host, xero)
    page = acme.get("/integrations/xero/health").text
    assert "1 of 1 contacts match a Xero contact." in page
    sentence = page.split('data-testid="match-coverage"')[1].split("</p>")[0].split(">", 1)[1]
    assert sentence.strip() == "1 of 1 contacts match a Xero contact."
    records["contact"] = []
    page = acme.get("/integrations/xero/health").text
    assert "This CRM account has no contacts or accounts to match yet." in page


@pytest.fixture
def slow(make_host: Any, database_url: str) -> Iterator[SyncHost]:
    h = SyncHost(make_host, database_url, XERO_PANEL_SYNC_WAIT=10, XERO_PANEL_HTTP_TIMEOUT=0.5)
    h.full_sync()
    yield h
    h.close()


def test_slow_xero_gives_the_slow_message_not_the_outage_one(slow: SyncHost) -> None:
    slow.age()
    slow.emulator.add_fault({"endpoint": "Invoices", "delay_ms": 1500, "times": 20})
    status = slow.view()
    assert status.problem == "Xero did not answer in time."
    assert status.state.reason == "slow"
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    five_minutes_old = dataclasses.replace(status, fresh_at=now - dt.timedelta(minutes=5))
    notice = rep_notice(five_minutes_old, Formatter("en_NZ", now))
    assert notice is not None and notice.reason == "slow"
    assert notice.text == "Xero is slow to answer; showing invoices as of 5 minutes ago."


def test_dropped_connections_are_unreachable_not_slow(slow: SyncHost) -> None:
    slow.age()
    slow.emulator.add_fault({"endpoint": "Invoices", "drop": True, "times": 20})
    assert slow.view().state.reason == "unreachable"


def test_integration_page_shows_each_organisations_health(
    host: conftest.HostApp, xero: Any
) -> None:
    acme = saved_acme(host, xero)
    for _ in range(50):
        page = acme.get("/integrations/xero/settings").text
        if 'data-testid="org-health"' in page and "never" not in last_full_sync(page):
            break
        time.sleep(0.2)
    assert_shows_the_cache(host, page)
    assert count_of(page, "calls-today") > 0
    assert 'data-testid="health-link"' in page
