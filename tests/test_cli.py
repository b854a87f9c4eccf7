"""``flask xero-panel sync|status|worker``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests._sync_support import SyncHost


@pytest.fixture
def h(make_host: Callable[..., Any], tmp_path: Any) -> Iterator[SyncHost]:
    host = SyncHost(make_host, f"sqlite:///{tmp_path}/cli.db")
    yield host
    host.close()


def run(h: SyncHost, *args: str) -> Any:
    return h.app.test_cli_runner().invoke(args=["xero-panel", *args])


def test_sync_first_time_runs_full_sync_with_progress(h: SyncHost) -> None:
    result = run(h, "sync")
    assert result.exit_code == 0, result.output
    assert "Bench Garden Ltd: full sync" in result.output
    assert "30 invoices, 4 credit notes, 7 contacts stored in 4 Xero calls." in result.output


def test_sync_after_full_is_incremental(h: SyncHost) -> None:
    h.full_sync()
    result = run(h, "sync")
    assert "stored in 1 Xero call." in result.output
    assert h.calls()["by_endpoint"] == {"Invoices": 1}


def test_sync_full_rereads_everything(h: SyncHost) -> None:
    h.full_sync()
    result = run(h, "sync", "--full")
    assert "30 invoices" in result.output
    assert h.calls()["calls"] == 4


def test_sync_other_account_has_nothing(h: SyncHost) -> None:
    result = run(h, "sync", "--account", "globex")
    assert result.output == "No active Xero organisations to sync.\n"


def test_sync_failure_exits_1(h: SyncHost) -> None:
    h.emulator.add_fault({"endpoint": "Organisation", "status": 503})
    result = run(h, "sync")
    assert result.exit_code == 1
    assert "failed: Xero answered HTTP 503." in result.output
    status = run(h, "status").output  # the state the health page shows
    assert "state:           xero-error: Xero answers with errors since" in status


def test_status_shows_each_organisation(h: SyncHost) -> None:
    h.full_sync()
    result = run(h, "status")
    assert result.exit_code == 0
    assert f"Bench Garden Ltd [{h.tenant_id}]" in result.output
    assert "sync:            idle" in result.output
    assert "cached:          30 invoices, 4 credit notes, 7 contacts" in result.output
    assert "calls today:     5" in result.output  # 1 at connect + 4 for the full sync
    assert "errors:          none" in result.output
    assert "state:           ok: Working: Xero last answered at" in result.output


def test_status_before_any_sync(h: SyncHost) -> None:
    result = run(h, "status")
    assert "sync:            never synced" in result.output
    assert "last sync:       never" in result.output


def test_worker_without_redis_explains(h: SyncHost) -> None:
    result = run(h, "worker")
    assert result.exit_code != 0
    assert "XERO_PANEL_REDIS_URL is not set" in result.output


def test_status_calls_today_reads_the_call_counter(h: SyncHost) -> None:
    h.full_sync()
    counted = h.state.backends.counter.count(h.tenant_id)
    assert counted.today == counted.sent == 5  # 1 at connect + 4 for the full sync
    assert f"calls today:     {counted.today}\n" in run(h, "status").output


@pytest.fixture
def shared(make_host: Callable[..., Any], database_url: str) -> Iterator[SyncHost]:
    host = SyncHost(make_host, database_url)
    yield host
    host.close()


def test_status_calls_today_counts_every_process(
    shared: SyncHost, make_host: Callable[..., Any], database_url: str
) -> None:
    """Without Redis, a second process on the same database (here a second app, whose own
    counter has seen no call) shows the calls the first one made."""
    shared.full_sync()
    other = make_host(database_url)
    assert other.app is not shared.app
    with other.app.app_context():
        result = other.app.test_cli_runner().invoke(args=["xero-panel", "status"])
    assert "calls today:     5\n" in result.output  # 1 at connect + 4 for the full sync


def test_status_lists_only_the_organisations_in_use(h: SyncHost) -> None:
    from xero_panel.models import Connection, Organisation

    with h.state_session() as session:
        connection = session.get(Connection, h.connection_id)
        connection.organisations.append(
            Organisation(tenant_id="not-ticked", name="Unticked Ltd", selected=False)
        )
        session.commit()
    output = run(h, "status").output
    assert "Bench Garden Ltd" in output
    assert "Unticked Ltd" not in output
    assert "not-ticked" not in output


def test_status_without_organisations_in_use(h: SyncHost) -> None:
    from xero_panel.models import Organisation

    with h.state_session() as session:
        session.get(Organisation, h.org_id).selected = False
        session.commit()
    assert run(h, "status").output == "No Xero organisations are in use.\n"
