"""make_backends: one Redis client (or none), one key prefix for everything in Redis."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests.config_support import config
from tests.conftest import REDIS_URL, require_service
from xero_panel.backends import Backends, make_backends
from xero_panel.config import read_settings
from xero_panel.locks import InProcessLocks, RedisLocks
from xero_panel.models import Base
from xero_panel.sync.runners import RQRunner, ThreadRunner
from xero_panel.xero.call_counter import (
    CallCount,
    DatabaseCallCounter,
    InProcessCallCounter,
    RedisCallCounter,
)
from xero_panel.xero.rate_budget import InProcessRateBudget
from xero_panel.xero.redis_rate_budget import RedisRateBudget

PACKAGE = Path(__file__).resolve().parents[1] / "xero_panel"


def test_without_redis_everything_is_in_process() -> None:
    backends = make_backends(read_settings(config()))
    assert backends.redis is None
    assert isinstance(backends.locks, InProcessLocks)
    assert isinstance(backends.budget, InProcessRateBudget)
    assert isinstance(backends.runner(lambda job, args: None), ThreadRunner)


def test_the_rate_budget_takes_the_configured_limits() -> None:
    settings = read_settings(
        config(
            XERO_PANEL_RATE_LIMIT_PER_MINUTE=7,
            XERO_PANEL_RATE_LIMIT_PER_DAY=70,
            XERO_PANEL_RATE_LIMIT_CONCURRENT=2,
        )
    )
    budget = make_backends(settings).budget
    assert isinstance(budget, InProcessRateBudget)
    assert (budget.per_minute, budget.per_day, budget.concurrent) == (7, 70, 2)


def test_one_counter_for_the_budget_and_every_reader() -> None:
    backends = make_backends(read_settings(config()))
    assert backends.counter is backends.budget.counter
    with backends.budget.acquire("t", max_wait=0):
        pass
    assert backends.counter.count("t") == CallCount(today=1, this_minute=1, sent=1)


def test_without_redis_given_the_engine_the_calls_are_counted_in_the_database(
    tmp_path: Any,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/c.db")
    Base.metadata.create_all(engine)
    backends = make_backends(read_settings(config()), engine=lambda: engine)
    assert isinstance(backends.counter, DatabaseCallCounter)
    with backends.budget.acquire("t", max_wait=0):
        pass
    other = make_backends(read_settings(config()), engine=lambda: engine)
    assert other.counter.count("t").today == 1
    # Without an engine (a plain in-process budget), the count is the process's own.
    assert type(make_backends(read_settings(config())).counter) is InProcessCallCounter


def test_only_backends_connects_to_redis() -> None:
    found = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if re.search(r"Redis\.from_url\(", path.read_text())
    )
    assert found == ["backends.py"]


@pytest.fixture
def redis_backends() -> Iterator[Backends]:
    require_service("Redis", REDIS_URL, 6379)
    prefix = f"xp-test-{uuid.uuid4().hex[:8]}:"
    settings = read_settings(config(XERO_PANEL_REDIS_URL=REDIS_URL, XERO_PANEL_REDIS_PREFIX=prefix))
    backends = make_backends(settings)
    try:
        yield backends
    finally:
        keys = list(backends.redis.scan_iter(match=f"{prefix}*"))
        if keys:
            backends.redis.delete(*keys)
        backends.redis.close()


@pytest.mark.redis
def test_with_redis_one_client_for_everything(redis_backends: Backends) -> None:
    client = redis_backends.redis
    assert isinstance(redis_backends.locks, RedisLocks)
    assert redis_backends.locks._redis is client
    assert isinstance(redis_backends.budget, RedisRateBudget)
    assert redis_backends.budget._redis is client
    assert isinstance(redis_backends.counter, RedisCallCounter)
    assert redis_backends.refresh_lock._redis is client
    runner = redis_backends.runner(lambda job, args: None)
    assert isinstance(runner, RQRunner)
    assert all(q.connection is client for q in runner.queues)


@pytest.mark.redis
def test_with_redis_every_key_has_the_prefix(redis_backends: Backends, tmp_path: Any) -> None:
    prefix, client = redis_backends.prefix, redis_backends.redis
    held = redis_backends.locks.try_lock("refresh:1", 5)
    assert held is not None
    assert redis_backends.locks.claim("contact:1:c", 5)
    with redis_backends.budget.acquire("tenant-1", max_wait=0):
        pass
    engine = create_engine(f"sqlite:///{tmp_path}/k.db")
    Base.metadata.create_all(engine)
    keys_during_refresh: list[str] = []
    with Session(engine) as session, redis_backends.refresh_lock.hold(session, 42):
        keys_during_refresh = [k.decode() for k in client.scan_iter(match="*refresh:42")]
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*"))
    assert f"{prefix}lock:refresh:1" in keys
    assert f"{prefix}claim:contact:1:c" in keys
    assert f"{prefix}rate:{{tenant-1}}:sent" in keys
    assert keys_during_refresh == [f"{prefix}refresh:42"]
    assert redis_backends.counter.count("tenant-1") == CallCount(today=1, this_minute=1, sent=1)
    held.release()
