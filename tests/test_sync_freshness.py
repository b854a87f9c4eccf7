"""The scheduler's rules (xero_panel.sync.freshness), on snapshots, without a database."""

from __future__ import annotations

import dataclasses
import datetime as dt

from xero_panel.sync.freshness import (
    STALE_RUNNING,
    Snapshot,
    first_sync_wanted,
    is_stale,
    reconcile_due,
)

NOW = dt.datetime(2030, 6, 1, 10, 0, tzinfo=dt.UTC)
NEVER = Snapshot(
    organisation_id=1,
    connection_status="active",
    reconnect_started_at=None,
    status="idle",
    phase=None,
    full_sync_started_at=None,
    full_sync_completed_at=None,
    fresh_at=None,
    last_error_at=None,
    reconciled_at=None,
)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def test_stale_after_the_ttl_since_the_last_success_or_try() -> None:
    assert is_stale(NEVER, NOW, 60)
    fresh = dataclasses.replace(NEVER, fresh_at=ago(59))
    assert not is_stale(fresh, NOW, 60)
    assert is_stale(dataclasses.replace(fresh, fresh_at=ago(60)), NOW, 60)
    # A failed try counts as a try: no call per view while Xero is down.
    tried = dataclasses.replace(NEVER, fresh_at=ago(600), last_error_at=ago(10))
    assert not is_stale(tried, NOW, 60)


def test_reconcile_due_after_its_interval_never_when_off_or_never_reconciled() -> None:
    assert not reconcile_due(NEVER, NOW, 3600)
    done = dataclasses.replace(NEVER, reconciled_at=ago(3599))
    assert not reconcile_due(done, NOW, 3600)
    assert reconcile_due(dataclasses.replace(done, reconciled_at=ago(3600)), NOW, 3600)
    assert not reconcile_due(dataclasses.replace(done, reconciled_at=ago(10**6)), NOW, 0)


def test_first_sync_wanted_unless_one_is_alive_or_one_just_failed() -> None:
    asked: list[bool] = []

    def alive() -> bool:
        asked.append(True)
        return True

    def dead() -> bool:
        return False

    assert first_sync_wanted(NEVER, NOW, 60, holder_alive=alive)
    queued = dataclasses.replace(
        NEVER, status="running", phase="queued", full_sync_started_at=ago(30)
    )
    assert not first_sync_wanted(queued, NOW, 60, holder_alive=dead)
    assert asked == []  # a queued sync holds no lock yet: not asked
    working = dataclasses.replace(queued, phase="invoices")
    assert not first_sync_wanted(working, NOW, 60, holder_alive=alive)
    assert first_sync_wanted(working, NOW, 60, holder_alive=dead)  # its worker died
    old = dataclasses.replace(working, full_sync_started_at=NOW - STALE_RUNNING)
    assert first_sync_wanted(old, NOW, 60, holder_alive=alive)
    failed = dataclasses.replace(NEVER, status="failed", last_error_at=ago(59))
    assert not first_sync_wanted(failed, NOW, 60, holder_alive=dead)
    assert first_sync_wanted(
        dataclasses.replace(failed, last_error_at=ago(60)), NOW, 60, holder_alive=dead
    )
