"""The fair use of *Refresh* (xero_panel/sync/refresh_gate.py), on an injected clock, in
process and in Redis: in flight per record, cooldown per record, limit per user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests._xero_fixtures import T0, FakeClock
from xero_panel.sync.refresh_gate import (
    FLIGHT_TTL,
    USER_WINDOW,
    InProcessRefreshGate,
    RedisRefreshGate,
    RefreshGate,
)

MakeGate = Callable[..., RefreshGate]
R1, R2 = "acme:account:9", "acme:contact:1"
REP, OTHER = "acme:rep", "acme:other"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_gate(request: pytest.FixtureRequest, clock: FakeClock) -> MakeGate:
    def build(**kw: Any) -> RefreshGate:
        kw.setdefault("clock", clock)
        kw.setdefault("sleep", clock.sleep)
        if request.param == "memory":
            return InProcessRefreshGate(**kw)
        client = request.getfixturevalue("redis_client")
        prefix = request.getfixturevalue("redis_prefix")
        return RedisRefreshGate(client, f"{prefix}:", **kw)

    return build


def test_second_press_within_cooldown_shows_the_last_result(
    make_gate: MakeGate, clock: FakeClock
) -> None:
    gate = make_gate(cooldown=30)
    assert gate.ask(R1, REP).verdict == "go"
    gate.finish(R1)
    clock.advance(12)
    turn = gate.ask(R1, OTHER)
    assert (turn.verdict, turn.retry_at, turn.last_at) == ("cooldown", T0 + 30, T0)
    clock.advance(18)
    assert gate.ask(R1, REP).verdict == "go"


def test_press_while_in_flight_joins(make_gate: MakeGate) -> None:
    gate = make_gate(cooldown=30)
    assert gate.ask(R1, REP).verdict == "go"
    turn = gate.ask(R1, OTHER)
    assert (turn.verdict, turn.last_at) == ("join", T0)
    assert gate.ask(R2, OTHER).verdict == "go"  # another record is not held


def test_joining_waits_for_the_flight(make_gate: MakeGate, clock: FakeClock) -> None:
    gate = make_gate(cooldown=30, poll_interval=0.5)
    gate.ask(R1, REP)
    assert gate.wait_finished(R1, 2.0) is False
    assert sum(clock.sleeps) == 2.0
    gate.finish(R1)
    assert gate.wait_finished(R1, 2.0) is True


def test_a_dead_refresh_stops_holding_its_record(make_gate: MakeGate, clock: FakeClock) -> None:
    gate = make_gate(cooldown=0)
    gate.ask(R1, REP)  # its process died: never finished
    clock.advance(FLIGHT_TTL)
    assert gate.ask(R1, REP).verdict == "go"


def test_per_user_limit_over_all_records(make_gate: MakeGate, clock: FakeClock) -> None:
    gate = make_gate(cooldown=30, per_user=2)
    assert gate.ask(R1, REP).verdict == "go"
    clock.advance(10)
    assert gate.ask(R2, REP).verdict == "go"
    clock.advance(10)
    turn = gate.ask("acme:deal:5", REP)
    assert (turn.verdict, turn.retry_at) == ("user-limit", T0 + USER_WINDOW)
    assert gate.ask("acme:deal:5", OTHER).verdict == "go"  # another user is not held
    clock.advance(USER_WINDOW - 20)
    assert gate.ask("acme:deal:6", REP).verdict == "go"


def test_joins_and_cooldowns_do_not_count_against_the_user(make_gate: MakeGate) -> None:
    gate = make_gate(cooldown=30, per_user=1)
    assert gate.ask(R1, OTHER).verdict == "go"
    assert gate.ask(R1, REP).verdict == "join"
    gate.finish(R1)
    assert gate.ask(R1, REP).verdict == "cooldown"
    assert gate.ask(R2, REP).verdict == "go"


def test_zero_turns_the_limits_off(make_gate: MakeGate) -> None:
    gate = make_gate(cooldown=0, per_user=0)
    for _ in range(20):
        assert gate.ask(R1, REP).verdict == "go"
        gate.finish(R1)
