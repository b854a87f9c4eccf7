"""The jobs the fleet benchmark's RQ workers run (``benchmarks/bench_fleet.py``), imported
by name (``fleet_jobs.webhook_job``), and the worker itself: the plugin's engine, client and
Redis rate budget, configured through ``XP_FLEET_*`` environment variables."""

from __future__ import annotations

import json
import os
import time
from typing import Any

HIGH, LOW = "high", "low"

_WORLD: dict[str, Any] = {}


def _world() -> dict[str, Any]:
    if _WORLD:
        return _WORLD
    import redis
    import requests
    from sqlalchemy import create_engine, select

    from xero_panel.models import Organisation
    from xero_panel.xero.call_kinds import Shares
    from xero_panel.xero.redis_rate_budget import RedisRateBudget

    env = os.environ
    client = redis.Redis.from_url(env["XP_FLEET_REDIS"])
    prefix = env["XP_FLEET_PREFIX"]
    engine = create_engine(env["XP_FLEET_DB"])
    with engine.connect() as db:
        orgs = dict(db.execute(select(Organisation.tenant_id, Organisation.id)).tuples().all())
    session = requests.Session()

    def count_429(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.status_code == 429:
            problem = response.headers.get("X-Rate-Limit-Problem") or "unknown"
            client.hincrby(f"{prefix}bench:429", problem, 1)

    session.hooks["response"].append(count_429)
    _WORLD.update(
        redis=client,
        prefix=prefix,
        engine=engine,
        orgs=orgs,
        session=session,
        budget=RedisRateBudget(
            client,
            prefix,
            shares=Shares(background_reserve=20, interactive_reserve=10),
            app_per_minute=int(env["XP_FLEET_APP_LIMIT"]),
        ),
    )
    return _WORLD


class _Tokens:
    def access_token(self) -> str:
        return os.environ["XP_FLEET_TOKEN"]

    def refresh_access_token(self, rejected: str) -> str:
        return os.environ["XP_FLEET_TOKEN"]


def _client(kind: str) -> Any:
    from xero_panel.xero.client import XeroClient

    world = _world()
    client = XeroClient(
        tokens=_Tokens(),
        budget=world["budget"],
        api_url=os.environ["XP_FLEET_API"],
        session=world["session"],
        max_wait=300,
    )
    client.kind = kind  # type: ignore[assignment]
    return client


def webhook_job(tenant: str, invoice: str, t0: float, marker: str) -> None:
    """What the webhook route's background fetch does: the named invoice, by ID."""
    from sqlalchemy.orm import Session

    from xero_panel.sync import engine

    world = _world()
    with Session(world["engine"]) as session:
        engine.sync_by_ids(
            session, world["orgs"][tenant], _client("webhook"), invoice_ids=[invoice]
        )
    # CLOCK_MONOTONIC is one clock for every process of the machine, and no test's clock
    # shift moves it (the driver stamps t0 with it too).
    done = time.monotonic()
    world["redis"].rpush(f"{world['prefix']}bench:done", json.dumps([t0, done, marker]))


def view_job(tenant: str, asked: float, ttl: float) -> None:
    """A rep's view: an incremental refresh of its organisation at most once per ``ttl``
    (across workers), then how old the data the rep sees is."""
    from sqlalchemy.orm import Session

    from xero_panel.models import SyncState
    from xero_panel.sync import engine

    world = _world()
    org_id = world["orgs"][tenant]
    if world["redis"].set(f"{world['prefix']}bench:ttl:{tenant}", 1, nx=True, px=int(ttl * 1000)):
        with Session(world["engine"]) as session:
            engine.incremental_sync(session, org_id, _client("view"))
    with Session(world["engine"]) as session:
        state = session.get(SyncState, org_id)
        fresh = state.fresh_at.timestamp() if state and state.fresh_at else None
    age = time.time() - fresh if fresh is not None else -1.0
    world["redis"].rpush(f"{world['prefix']}bench:views", json.dumps([asked, age]))


def worker_main() -> None:
    """``--worker``: an RQ worker on the high then the low queue, no fork per job."""
    import redis
    from rq import Queue, SimpleWorker

    import xero_panel.sync.engine  # noqa: F401  (imported before the first job is timed)

    _world()
    client = redis.Redis.from_url(os.environ["XP_FLEET_REDIS"])
    queues = [Queue(f"{os.environ['XP_FLEET_QUEUE']}-{q}", connection=client) for q in (HIGH, LOW)]
    SimpleWorker(queues, connection=client).work(logging_level="WARNING")
