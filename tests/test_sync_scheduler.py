"""The sync scheduler the panel calls, against the emulator, counting its calls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import update

from tests._sync_support import SyncHost
from tests.clock import Clock
from xero_panel.models import Connection
from xero_panel.sync.scheduler import SyncScheduler


@pytest.fixture
def synced(make_host: Callable[..., Any], database_url: str) -> Iterator[SyncHost]:
    h = SyncHost(make_host, database_url, XERO_PANEL_SYNC_WAIT=10)
    h.full_sync()
    yield h
    h.close()


@pytest.fixture
def cold(make_host: Callable[..., Any], tmp_path: Any) -> Iterator[SyncHost]:
    h = SyncHost(make_host, f"sqlite:///{tmp_path}/cold.db", XERO_PANEL_SYNC_WAIT=10)
    yield h
    h.close()


def test_init_app_sets_the_sync_scheduler(make_host: Callable[..., Any], tmp_path: Any) -> None:
    h = SyncHost(
        make_host,
        f"sqlite:///{tmp_path}/wired.db",
        XERO_PANEL_CACHE_TTL=77,
        XERO_PANEL_SYNC_WAIT=9,
        XERO_PANEL_RECONCILE_INTERVAL=4321,
        XERO_PANEL_SYNC_PAGE_SIZE=250,
    )
    try:
        scheduler = h.state.scheduler
        assert type(scheduler) is SyncScheduler
        # On the app's settings and backends, its background work in the app's context.
        assert (scheduler.ttl, scheduler.wait, scheduler.reconcile_interval) == (77, 9, 4321)
        assert scheduler.jobs.page_size == 250
        assert scheduler.locks is h.state.backends.locks
        assert scheduler.context == h.app.app_context
        apps: list[object] = []
        refresh = scheduler.run_refresh

        def run_refresh(organisation_id: int) -> dict[str, int]:
            apps.append(current_app._get_current_object())
            return refresh(organisation_id)

        scheduler.run_refresh = run_refresh
        scheduler.runner.submit("refresh", h.org_id)
        assert h.wait_idle()
        assert apps == [h.app]  # its runner runs the job in the app's context
        assert h.calls()["by_endpoint"].get("Invoices")
    finally:
        h.close()


def test_ensure_fresh_warm_view_makes_no_calls(synced: SyncHost) -> None:
    status = synced.view()
    assert synced.calls()["calls"] == 0
    assert status.fresh_at is not None
    assert status.problem is None


def test_ensure_fresh_stale_unchanged_tenant_is_one_call(clock: Clock, synced: SyncHost) -> None:
    synced.age()
    status = synced.view()
    assert synced.calls()["by_endpoint"] == {"Invoices": 1}
    assert status.fresh_at == clock.now  # fresh as of this view's refresh


def test_ensure_fresh_100_concurrent_stale_views_make_one_call(synced: SyncHost) -> None:
    synced.age()
    results = synced.views_at_once(100)
    assert len(results) == 100
    assert synced.calls()["by_endpoint"] == {"Invoices": 1}
    assert all(r.problem is None for r in results)


def test_ensure_fresh_sees_a_change_after_ttl(synced: SyncHost) -> None:
    invoice = synced.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    synced.emulator.apply_change(
        "Invoices", synced.tenant_id, {"InvoiceID": invoice["InvoiceID"], "Status": "VOIDED"}
    )
    synced.age()
    synced.view()
    assert synced.invoice(invoice["InvoiceID"]).status == "VOIDED"


def test_ensure_fresh_xero_down_reports_problem_and_keeps_cache(synced: SyncHost) -> None:
    before = synced.sync_state().fresh_at
    synced.age()
    aged = synced.sync_state().fresh_at
    synced.emulator.add_fault({"endpoint": "Invoices", "status": 503})
    status = synced.view()
    assert status.problem == "Xero answered HTTP 503."
    assert status.state.reason == "xero-error"
    assert status.fresh_at == aged and aged != before
    assert synced.count() == 34


def test_ensure_fresh_dropped_connections_report_problem(synced: SyncHost) -> None:
    synced.age()
    synced.emulator.add_fault({"endpoint": "Invoices", "drop": True})
    status = synced.view()
    assert status.problem == "Xero could not be reached."
    assert status.state.reason == "unreachable"


def test_ensure_fresh_rate_limited_reports_problem(synced: SyncHost) -> None:
    synced.age()
    synced.emulator.add_fault({"endpoint": "Invoices", "status": 429, "times": 1})
    status = synced.view()
    assert status.state.reason == "rate-limited" and status.state.limit == "minute"
    assert status.problem is not None and status.problem.startswith("Xero's minute limit")


def test_ensure_fresh_failure_not_retried_within_ttl(synced: SyncHost) -> None:
    synced.age()
    synced.emulator.add_fault({"endpoint": "Invoices", "status": 503})
    synced.view()
    synced.emulator.reset_stats()
    status = synced.view()
    assert synced.calls()["calls"] == 0
    assert status.problem is not None


def test_ensure_fresh_problem_clears_after_recovery(synced: SyncHost) -> None:
    synced.age()
    synced.emulator.add_fault({"endpoint": "Invoices", "status": 503, "times": 4})
    synced.view()
    synced.age()
    assert synced.view().problem is None


def test_ensure_fresh_needs_reconnect_makes_no_calls(synced: SyncHost) -> None:
    synced.age()
    with synced.state_session() as session:
        session.execute(update(Connection).values(status="needs_reconnect"))
        session.commit()
    status = synced.view()
    assert status.needs_reconnect is True
    assert synced.calls()["calls"] == 0


def test_ensure_fresh_revoked_tenant_marks_needs_reconnect(synced: SyncHost) -> None:
    synced.age()
    synced.emulator.add_fault({"revoke_tenant": synced.tenant_id})
    status = synced.view()
    assert status.needs_reconnect is True
    assert status.problem == ("Xero refused this connection's tokens.")


def test_ensure_fresh_cold_starts_first_sync_in_background(cold: SyncHost) -> None:
    status = cold.view()
    assert status.fresh_at is None
    assert status.first_sync_running is True
    assert cold.wait_idle()
    state = cold.sync_state()
    assert (state.status, state.progress_done, state.progress_total) == ("idle", 41, 41)
    assert cold.count() == 34
    assert cold.calls()["calls"] <= 4


def hold_organisation_calls(h: SyncHost) -> threading.Event:
    """Xero's Organisation endpoint (the full sync's first call) answers only once the
    returned event is set: the full sync waits as long as the test needs."""
    client_for = h.scheduler.jobs.client_for
    gate = threading.Event()

    def held_client(organisation: Any) -> Any:
        client = client_for(organisation)
        send = client._session.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if url.rstrip("/").endswith("/Organisation"):
                assert gate.wait(60), "the test never let the full sync go on"
            return send(method, url, *args, **kwargs)

        client._session.request = request
        return client

    h.scheduler.jobs.client_for = held_client
    return gate


def test_ensure_fresh_cold_fetches_matched_contacts_first(cold: SyncHost) -> None:
    gate = hold_organisation_calls(cold)
    contact = cold.contact_id(2)
    try:
        cold.view(contact_ids=[(cold.org_id, contact)])
        # The targeted fetch landed while the full sync still waits for Xero.
        assert cold.sync_state().status == "running"
        assert cold.count() == 6  # its 5 invoices and 1 credit note
    finally:
        gate.set()
    assert cold.wait_idle()


def test_ensure_fresh_targeted_fetch_once_per_ttl(cold: SyncHost) -> None:
    gate = hold_organisation_calls(cold)
    pair = [(cold.org_id, cold.contact_id(2))]
    try:
        cold.view(contact_ids=pair)
        cold.view(contact_ids=pair)
        by_endpoint = cold.calls()["by_endpoint"]
        assert by_endpoint.get("CreditNotes") == 1
    finally:
        gate.set()
    assert cold.wait_idle()


def test_refresh_record_fetches_contacts_whatever_the_ttl(synced: SyncHost) -> None:
    status = synced.refresh_record([(synced.org_id, synced.contact_id(1))])
    assert synced.calls()["by_endpoint"] == {"Invoices": 1, "CreditNotes": 1}
    assert status.problem is None


def test_start_full_sync_runs_in_background_with_progress(synced: SyncHost) -> None:
    with synced.app.app_context():
        assert synced.scheduler.start_full_sync(synced.org_id) is True
    synced.wait_idle()
    state = synced.sync_state()
    assert state.status == "idle"
    assert state.progress_done == state.progress_total == 41
    assert synced.calls()["calls"] == 4


def test_start_full_sync_twice_at_once_starts_one(synced: SyncHost) -> None:
    with synced.app.app_context():
        started = [synced.scheduler.start_full_sync(synced.org_id) for _ in range(3)]
    synced.wait_idle()
    assert started == [True, False, False]
    assert synced.calls()["calls"] == 4


def test_start_refresh_runs_incremental_and_reconcile(synced: SyncHost) -> None:
    with synced.app.app_context():
        synced.scheduler.start_refresh(synced.org_id)
    synced.wait_idle()
    assert synced.calls()["by_endpoint"] == {"Invoices": 2, "Contacts": 1, "CreditNotes": 1}


def test_ensure_fresh_starts_due_reconciliation(
    clock: Clock, make_host: Any, tmp_path: Any
) -> None:
    h = SyncHost(
        make_host,
        f"sqlite:///{tmp_path}/r.db",
        XERO_PANEL_CACHE_TTL=3600,
        XERO_PANEL_RECONCILE_INTERVAL=600,
    )
    try:
        h.full_sync()
        clock.advance(seconds=599)
        h.view()
        assert h.wait_idle()
        assert h.calls()["calls"] == 0  # not due yet
        clock.advance(seconds=1)
        h.view()
        assert h.wait_idle()
        assert h.calls()["by_endpoint"] == {"Contacts": 1, "CreditNotes": 1, "Invoices": 1}
    finally:
        h.close()


def test_ensure_fresh_no_organisations() -> None:
    scheduler = SyncScheduler(
        session_factory=Any,  # type: ignore[arg-type]
        jobs=Any,  # type: ignore[arg-type]
        webhook_retries=Any,  # type: ignore[arg-type]
        locks=Any,  # type: ignore[arg-type]
    )
    assert scheduler.ensure_fresh(None, []).fresh_at is None  # type: ignore[arg-type]
