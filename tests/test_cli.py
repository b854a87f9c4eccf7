"""``flask xero-panel sync|status|worker``."""

from __future__ import annotations

import json
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


def test_sync_unknown_account_is_a_usage_error(h: SyncHost) -> None:
    result = run(h, "sync", "--account", "nobody")
    assert result.exit_code == 2
    assert "No CRM account 'nobody' has connected Xero here" in result.output
    assert h.calls()["calls"] == 0


def test_sync_unknown_organisation_is_a_usage_error(h: SyncHost) -> None:
    result = run(h, "sync", "--organisation", "no-such-tenant")
    assert result.exit_code == 2
    assert "No Xero organisation 'no-such-tenant' is known here" in result.output


def test_sync_one_organisation_by_tenant_id(h: SyncHost) -> None:
    result = run(h, "sync", "--organisation", h.tenant_id)
    assert result.exit_code == 0, result.output
    assert "30 invoices" in result.output


def test_status_unknown_account_is_a_usage_error(h: SyncHost) -> None:
    for args in (["--account", "nobody"], ["--json", "--account", "nobody"]):
        result = run(h, "status", *args)
        assert result.exit_code == 2
        assert "No CRM account 'nobody' has connected Xero here" in result.output


def test_status_json_all_ok_exits_0(h: SyncHost) -> None:
    h.full_sync()
    result = run(h, "status", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    (org,) = report["organisations"]
    assert org["organisation"] == "Bench Garden Ltd"
    assert org["tenant_id"] == h.tenant_id
    assert org["state"] == "ok"
    assert org["ok"] is True
    assert org["sync"] == "idle"
    assert org["cached"] == {"invoices": 30, "credit_notes": 4, "contacts": 7}
    assert org["calls_today"] == 5
    assert org["error"] is None
    assert org["last_full_sync"] is not None


def test_status_exits_1_when_an_organisation_needs_attention(h: SyncHost) -> None:
    h.emulator.add_fault({"endpoint": "Organisation", "status": 503})
    run(h, "sync")
    text = run(h, "status")
    assert text.exit_code == 1
    assert "state:           xero-error" in text.output
    result = run(h, "status", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    assert [o["state"] for o in report["organisations"]] == ["xero-error"]
    assert report["organisations"][0]["error"] == "Xero answered HTTP 503."


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


def test_status_counts_the_webhook_events_dropped_for_unknown_organisations(
    h: SyncHost,
) -> None:
    import uuid

    def event(tenant_id: str) -> dict[str, str]:
        return {
            "resourceId": str(uuid.uuid4()),
            "eventDateUtc": "2026-07-01T01:15:39.902",
            "eventType": "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }

    assert "dropped (no CRM account uses their organisation): 0" in run(h, "status").output
    assert json.loads(run(h, "status", "--json").output)["webhook_events_dropped"] == 0
    stranger = str(uuid.uuid4())
    with h.app.app_context(), h.state_session() as session:
        h.scheduler.store_webhook_events(session, [event(h.tenant_id), event(stranger)])
        h.scheduler.store_webhook_events(session, [event(stranger), event(stranger)])
    text = run(h, "status", "--account", "acme")
    assert "Webhook events dropped (no CRM account uses their organisation): 3" in text.output
    assert stranger not in text.output
    report = json.loads(run(h, "status", "--json").output)
    assert report["webhook_events_dropped"] == 3


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
    assert run(h, "status").output == (
        "No Xero organisations are in use.\n"
        "Webhook events dropped (no CRM account uses their organisation): 0\n"
    )
