"""The rate budget's kinds of call: each kind's share of a tenant's minute, the priority
queue (a more urgent waiting call goes first), and Xero's app-wide minute, on an injected
clock, for the in-process budget and the Redis one, and against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from xero_emulator import Emulator

from tests._sync_support import EmulatorTokens, FakeTime, generated_seed, make_client
from tests._xero_fixtures import T0, FakeClock
from xero_panel.exceptions import RateLimited
from xero_panel.xero.call_kinds import CallKind, Shares
from xero_panel.xero.rate_budget import ARRIVAL_MARGIN, InProcessRateBudget, RateBudget
from xero_panel.xero.redis_rate_budget import RedisRateBudget

A = "tenant-a"
B = "tenant-b"
SPAN = 60.0 + ARRIVAL_MARGIN
FAIR = Shares(background_reserve=20, interactive_reserve=10)
MakeBudget = Callable[..., Any]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_budget(request: pytest.FixtureRequest, clock: FakeClock) -> MakeBudget:
    """Budgets of either kind on the fake clock (Redis ones share a client and prefix)."""

    def build(**kw: Any) -> RateBudget:
        kw.setdefault("clock", clock)
        kw.setdefault("sleep", clock.sleep)
        kw.setdefault("shares", FAIR)
        if request.param == "memory":
            return InProcessRateBudget(**kw)
        client = request.getfixturevalue("redis_client")
        prefix = request.getfixturevalue("redis_prefix")
        return RedisRateBudget(client, f"{prefix}:", **kw)

    return build


def _call(budget: RateBudget, kind: CallKind, tenant: str = A, max_wait: float = 0.0) -> None:
    with budget.acquire(tenant, max_wait=max_wait, kind=kind):
        pass


def _until_refused(budget: RateBudget, kind: CallKind, tenant: str = A) -> tuple[int, str]:
    """Calls of ``kind`` made before the first refusal, and the refusal's problem."""
    made = 0
    while made < 1000:
        try:
            _call(budget, kind, tenant)
        except RateLimited as exc:
            return made, str(exc.problem)
        made += 1
    raise AssertionError("never refused")


def test_refreshes_leave_the_background_reserve(make_budget: MakeBudget) -> None:
    budget = make_budget()
    assert _until_refused(budget, "refresh") == (40, "minute")
    assert _until_refused(budget, "view") == (0, "minute")  # the same interactive share
    assert _until_refused(budget, "webhook") == (20, "minute")


def test_full_syncs_leave_the_interactive_reserve(make_budget: MakeBudget) -> None:
    budget = make_budget()
    assert _until_refused(budget, "full") == (50, "minute")
    assert _until_refused(budget, "reconcile") == (0, "minute")  # the same bulk share
    assert _until_refused(budget, "refresh") == (10, "minute")


def test_shares_together_stay_within_the_minute(make_budget: MakeBudget) -> None:
    budget = make_budget()
    assert _until_refused(budget, "refresh")[0] == 40
    assert _until_refused(budget, "full")[0] == 20
    assert _until_refused(budget, "webhook")[0] == 0


def test_shares_free_up_as_the_window_moves(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget()
    assert _until_refused(budget, "refresh")[0] == 40
    clock.advance(SPAN)
    assert _until_refused(budget, "refresh")[0] == 40


def test_no_reserves_by_default(clock: FakeClock) -> None:
    budget = InProcessRateBudget(clock=clock, sleep=clock.sleep)
    assert _until_refused(budget, "refresh") == (60, "minute")


def test_lower_kind_waits_while_a_webhook_waits(make_budget: MakeBudget, clock: FakeClock) -> None:
    """A full sync that asks while a webhook fetch waits for the minute is refused (it would
    take the slot the webhook waits for); the webhook then gets that slot."""
    attempts: list[str] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        try:
            _call(budget, "full")
            attempts.append("full ran")
        except RateLimited:
            attempts.append("full waited")

    budget = make_budget(sleep=sleep)
    for _ in range(50):
        _call(budget, "full")
        clock.advance(0.01)
    assert _until_refused(budget, "webhook")[0] == 10
    _call(budget, "webhook", max_wait=SPAN)  # waits for the oldest call to leave the window
    assert attempts == ["full waited"]
    assert budget.usage(A).minute_used == 60


def test_a_waiter_that_gave_up_blocks_nobody(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget()
    for _ in range(60):
        _call(budget, "webhook")
    with pytest.raises(RateLimited):
        _call(budget, "webhook", max_wait=1.0)
    clock.advance(SPAN)
    _call(budget, "full")


def test_waiting_in_one_tenant_does_not_hold_another(make_budget: MakeBudget) -> None:
    budget = make_budget()
    for _ in range(60):
        _call(budget, "webhook")
    with pytest.raises(RateLimited):
        _call(budget, "webhook", max_wait=1.0)
    assert _until_refused(budget, "full", tenant=B)[0] == 50


def test_app_minute_background_yields_first(make_budget: MakeBudget) -> None:
    budget = make_budget(app_per_minute=10)
    made = [_until_refused(budget, "full", tenant=t) for t in ("t1", "t2", "t3")]
    assert [m for m, _ in made] == [8, 0, 0]  # 80% of the app's minute
    assert made[1][1] == "appminute"
    assert _until_refused(budget, "view", tenant="t4") == (1, "appminute")  # 90%
    assert _until_refused(budget, "refresh", tenant="t5") == (1, "appminute")  # all of it


def test_app_minute_learned_from_xero(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget(app_per_minute=100)
    budget.observe(A, {"X-AppMinLimit-Remaining": "3"})
    assert _until_refused(budget, "webhook", tenant=B) == (3, "appminute")
    clock.advance(SPAN)
    assert _until_refused(budget, "webhook", tenant=B)[0] == 60  # the tenant's own minute


def test_429_appminute_blocks_every_tenant(make_budget: MakeBudget, clock: FakeClock) -> None:
    budget = make_budget()
    budget.observe(A, {"Retry-After": "5", "X-Rate-Limit-Problem": "appminute"})
    with pytest.raises(RateLimited) as refused:
        _call(budget, "webhook", tenant=B)
    assert refused.value.problem == "appminute"
    assert "app-wide" in str(refused.value)
    assert budget.usage(B).blocked_until is None  # the tenant itself is not blocked
    clock.advance(5)
    _call(budget, "webhook", tenant=B)


# -- against the emulator ----------------------------------------------------------------


@pytest.fixture
def two_tenants() -> Iterator[tuple[Emulator, Any, list[str]]]:
    first, second = generated_seed(2, n_contacts=2, seed=1), generated_seed(2, n_contacts=2, seed=2)
    seed = first
    seed["tenants"] += second["tenants"]
    ids = [t["tenantId"] for t in seed["tenants"]]
    seed["users"][0]["tenants"] = ids
    emulator = Emulator(seed, control_enabled=True)
    server = emulator.serve()
    yield emulator, server, ids
    server.shutdown()


def _stats(emulator: Emulator) -> tuple[int, int, dict[str, int]]:
    tenants = emulator.stats()["tenants"]
    calls = sum(t["calls"] for t in tenants.values())
    limited = sum(t["rate_limited"] for t in tenants.values())
    return calls, limited, {k: v["calls"] for k, v in tenants.items()}


def test_refresh_loop_leaves_webhooks_their_calls_at_the_emulator(
    two_tenants: tuple[Emulator, Any, list[str]],
) -> None:
    emulator, server, (tenant, _other) = two_tenants
    fake = FakeTime(emulator)
    budget = InProcessRateBudget(clock=fake.clock, sleep=fake.sleep, shares=FAIR)
    tokens = EmulatorTokens(emulator)
    rep = make_client(server.url, tokens, budget=budget, fake=fake, max_wait=0)
    made = 0
    with pytest.raises(RateLimited):
        while made < 100:
            rep.organisation(tenant)
            made += 1
    assert made == 40
    webhook = make_client(server.url, tokens, budget=budget, fake=fake, max_wait=0)
    webhook.kind = "webhook"
    for _ in range(20):
        webhook.organisation(tenant)
    assert _stats(emulator)[:2] == (60, 0)


def test_app_minute_read_from_emulator_headers(
    two_tenants: tuple[Emulator, Any, list[str]],
) -> None:
    """X-AppMinLimit-Remaining from the emulator stops the next call locally: the budget
    waits (on the injected clock) instead of earning a 429."""
    emulator, server, (first, second) = two_tenants
    emulator.configure_limits({"app_per_minute": 5})
    fake = FakeTime(emulator)
    budget = InProcessRateBudget(clock=fake.clock, sleep=fake.sleep, app_per_minute=5)
    client = make_client(
        server.url, EmulatorTokens(emulator), budget=budget, fake=fake, max_wait=70
    )
    for _ in range(5):
        client.organisation(first)
    client.organisation(second)
    assert _stats(emulator)[:2] == (6, 0)
    assert sum(fake.sleeps) >= 1


def test_app_minute_429_from_emulator_is_waited_out(
    two_tenants: tuple[Emulator, Any, list[str]],
) -> None:
    """Another process used the app's minute (a second budget, as without Redis): the
    emulator answers 429 ``appminute``; the client waits its Retry-After and succeeds, and
    the block holds for every tenant of that budget."""
    emulator, server, (first, second) = two_tenants
    emulator.configure_limits({"app_per_minute": 5})
    fake = FakeTime(emulator)
    tokens = EmulatorTokens(emulator)
    other = make_client(server.url, tokens, fake=fake)
    for _ in range(5):
        other.organisation(first)
    budget = InProcessRateBudget(clock=fake.clock, sleep=fake.sleep, app_per_minute=10_000)
    client = make_client(server.url, tokens, budget=budget, fake=fake, max_wait=0)
    with pytest.raises(RateLimited) as refused:
        client.organisation(second)
    assert refused.value.problem == "appminute"
    assert "app-wide" in str(refused.value)
    with pytest.raises(RateLimited):  # blocked locally for every tenant: no call to Xero
        client.organisation(first)
    assert _stats(emulator)[:2] == (6, 1)
    client.max_wait = 70
    client.organisation(second)
    assert _stats(emulator)[:2] == (7, 1)


_CHILD = """
import json, os, sys
import redis
from xero_panel.exceptions import RateLimited
from xero_panel.xero.client import XeroClient
from xero_panel.xero.redis_rate_budget import RedisRateBudget

class Tokens:
    def access_token(self): return os.environ["TOKEN"]
    def refresh_access_token(self, rejected): return os.environ["TOKEN"]

budget = RedisRateBudget(redis.Redis.from_url(os.environ["REDIS"]), os.environ["PREFIX"],
                         app_per_minute=int(os.environ["APP"]))
client = XeroClient(tokens=Tokens(), budget=budget, api_url=os.environ["API"], max_wait=0,
                    max_retries=0)
client.kind = "webhook"
made = refused = 0
for _ in range(int(os.environ["CALLS"])):
    try:
        client.organisation(os.environ["TENANT"])
        made += 1
    except RateLimited as exc:
        refused += 1
        problem = exc.problem
print(json.dumps({"made": made, "refused": refused}))
"""


@pytest.mark.redis
@pytest.mark.timeout(180)
def test_app_minute_shared_by_two_processes_through_redis(
    two_tenants: tuple[Emulator, Any, list[str]], redis_prefix: str
) -> None:
    """Two processes, each serving another organisation, share the app's minute through
    Redis: together they make exactly the app's 20 calls, and Xero answers no 429."""
    from tests.conftest import REDIS_URL

    emulator, server, tenants = two_tenants
    emulator.configure_limits({"app_per_minute": 20})
    token = EmulatorTokens(emulator).access_token()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "TOKEN": token,
                "REDIS": REDIS_URL,
                "PREFIX": f"{redis_prefix}:",
                "APP": "20",
                "API": server.url,
                "TENANT": tenant,
                "CALLS": "15",
            },
        )
        for tenant in tenants
    ]
    results = [json.loads(child.communicate(timeout=120)[0]) for child in children]
    assert sum(r["made"] for r in results) == 20
    assert sum(r["refused"] for r in results) == 10
    calls, limited, _ = _stats(emulator)
    assert (calls, limited) == (20, 0)


def test_admin_reads_the_app_wide_limit_as_what_it_is() -> None:
    import datetime as dt

    from xero_panel.health import admin_status
    from xero_panel.sync.org_state import OrgState

    when = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
    state = OrgState(
        "rate-limited", since=when, retry_at=when + dt.timedelta(seconds=42), limit="appminute"
    )
    assert admin_status(state) == (
        "Xero's app-wide limit of calls a minute (all organisations together) was reached"
        " since 2026-12-04 10:00 UTC; calls resume at 10:00:42 UTC."
    )
    minute = OrgState("rate-limited", since=when, limit="minute")
    assert "for this organisation" in admin_status(minute)


def test_a_full_sync_at_the_budgets_pace_leaves_refreshes_their_calls(
    two_tenants: tuple[Emulator, Any, list[str]],
) -> None:
    """A full sync of 120 calls runs at 50 a minute (waiting on the injected clock, no 429),
    and each time it waits a rep's refresh of the same organisation is answered at once."""
    emulator, server, (tenant, _other) = two_tenants
    fake = FakeTime(emulator)
    refreshed: list[bool] = []
    tokens = EmulatorTokens(emulator)

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        try:
            rep.organisation(tenant)
            refreshed.append(True)
        except RateLimited:
            refreshed.append(False)

    budget = InProcessRateBudget(clock=fake.clock, sleep=sleep, shares=FAIR)
    rep = make_client(server.url, tokens, budget=budget, fake=fake, max_wait=0)
    sync = make_client(server.url, tokens, budget=budget, fake=fake, max_wait=70)
    sync.kind = "full"
    started = fake.clock()
    for _ in range(120):
        sync.organisation(tenant)
    assert refreshed and all(refreshed)
    minutes = (fake.clock() - started) / SPAN
    assert 2 <= minutes < 3  # 120 calls at 50 a minute: two full waits
    calls, limited, _ = _stats(emulator)
    assert (calls, limited) == (120 + len(refreshed), 0)
