"""DatabaseCallCounter: without Redis, every process on a database reads the same calls today."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests._sync_support import db_engine
from xero_panel.models import Base, CallDay
from xero_panel.xero.call_counter import DatabaseCallCounter, utc_day

NOW = 1_795_000_000.0  # a fixed moment, so the UTC day is known


def counter(engine: Any) -> DatabaseCallCounter:
    return DatabaseCallCounter(lambda: engine, clock=lambda: NOW)


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    engine = db_engine(database_url)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


def test_two_counters_on_one_database_share_today(engine: Any) -> None:
    first, second = counter(engine), counter(engine)
    for _ in range(3):
        first.record("t-1", NOW)
    second.record("t-1", NOW)
    assert first.count("t-1").today == second.count("t-1").today == 4
    # The minute window and the sent count stay each process's own.
    assert (first.count("t-1").this_minute, first.count("t-1").sent) == (3, 3)
    assert (second.count("t-1").this_minute, second.count("t-1").sent) == (1, 1)
    assert counter(engine).count("t-2").today == 0
    with engine.connect() as connection:
        rows = connection.execute(sa.select(CallDay.tenant_id, CallDay.day, CallDay.calls)).all()
    assert rows == [("t-1", utc_day(NOW), 4)]


def test_a_failed_write_is_kept_and_added_with_the_next_call(tmp_path: Any) -> None:
    engine = db_engine(f"sqlite:///{tmp_path}/calls.db")
    available = {"engine": False}

    def get_engine() -> Any:
        if not available["engine"]:
            raise RuntimeError("Working outside of application context.")
        return engine

    calls = DatabaseCallCounter(get_engine, clock=lambda: NOW)
    calls.record("t-1", NOW)
    calls.record("t-1", NOW)
    assert calls.count("t-1").today == 2  # counted in process meanwhile
    available["engine"] = True
    calls.record("t-1", NOW)
    assert counter(engine).count("t-1").today == 3


def test_a_database_error_does_not_fail_the_call(tmp_path: Any) -> None:
    engine = db_engine(f"sqlite:///{tmp_path}/calls.db")
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE xero_panel_call_day"))
    calls = counter(engine)
    calls.record("t-1", NOW)
    assert calls.count("t-1").today == 1


def test_an_in_memory_sqlite_database_is_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine("sqlite://")
    calls = counter(engine)
    monkeypatch.setattr(engine, "begin", lambda: pytest.fail("wrote to a memory database"))
    calls.record("t-1", NOW)
    assert calls.count("t-1").today == 1


def test_the_health_page_and_status_read_the_same_calls_today(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Redis the health page (the web process) said 26 calls today while
    ``flask xero-panel status`` (another process), the table and Xero said 10: the web
    process showed its own count when it was larger (raised by Xero's headers, or holding
    writes that failed while the database was busy)."""
    from sqlalchemy.exc import OperationalError

    from xero_panel.xero import call_counter

    web, status = counter(engine), counter(engine)
    real_add = call_counter._add_calls
    busy = {"left": 3}

    def sometimes_busy(*args: Any) -> None:
        if busy["left"]:
            busy["left"] -= 1
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        real_add(*args)

    monkeypatch.setattr(call_counter, "_add_calls", sometimes_busy)
    for _ in range(3):
        web.record("t-1", NOW)  # each write fails: kept in the process
    with web.lock:
        web.tenant("t-1", NOW).today = 26  # what Xero's X-DayLimit-Remaining may say
    assert web.count("t-1").today == status.count("t-1").today == 3
