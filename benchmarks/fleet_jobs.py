"""The jobs the fleet benchmark's RQ workers run (``benchmarks/bench_fleet.py``), imported
by name (``fleet_jobs.webhook_job``), and the worker itself: the plugin's engine, client and
Redis rate budget, configured through ``XP_FLEET_*`` environment variables."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
    worker = SimpleWorker(queues, connection=client)
    with _profiled("worker"):
        worker.work(logging_level="WARNING")


@contextmanager
def _profiled(name: str) -> Iterator[None]:
    """With ``--profile DIR`` (``XP_FLEET_PROFILE``), cProfile around the block, its
    statistics written to ``DIR/<name>-<pid>.prof`` when the block ends (a worker's ends at
    the SIGTERM that stops it, after the job in hand)."""
    where = os.environ.get("XP_FLEET_PROFILE")
    if not where:
        yield
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(os.path.join(where, f"{name}-{os.getpid()}.prof"))


# -- the plugin's webhook path: stored events, one job per organisation (--fetch per-org) --

#: Marks the cache-level "done" of every change up to the one the cache holds, for every
#: invoice of an organisation in one call: KEYS[i] lists [marker, t0] of the changes
#: delivered for invoice i, oldest first; ARGV[i] is the marker the cache holds for it. Pops
#: and returns the entries up to it (atomically, as two workers may report the same
#: organisation).
_POP_UP_TO = """
local done = {}
for k, key in ipairs(KEYS) do
  local items = redis.call('LRANGE', key, 0, -1)
  for i, item in ipairs(items) do
    if cjson.decode(item)[1] == ARGV[k] then
      redis.call('LTRIM', key, i, -1)
      for j = 1, i do done[#done + 1] = items[j] end
      break
    end
  end
end
return done
"""


class _Runner:
    """The plugin's runner over the benchmark's high-priority RQ queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def submit(self, job: str, *args: Any) -> None:
        self.queue.enqueue(f"fleet_jobs.{job}_job", *args)

    def submit_later(self, delay: float, job: str, *args: Any) -> None:
        """A failed fetch's retry: none in a run with 0 429s (the run checks that)."""

    def should_yield(self, job: str, pages: int) -> bool:
        return False


def webhook_work(engine: Any, redis_client: Any, prefix: str, queue: Any) -> Any:
    """The plugin's :class:`~xero_panel.sync.webhook_work.WebhookWork` on the benchmark's
    database, Redis and queue (the driver's ``start``, the workers' ``run_tenant``)."""
    from sqlalchemy.orm import Session

    from xero_panel.locks import RedisLocks
    from xero_panel.sync.job_runs import SyncJobs
    from xero_panel.sync.webhook_mode import WebhookModes
    from xero_panel.sync.webhook_retries import WebhookRetries
    from xero_panel.sync.webhook_work import WebhookWork

    def session_factory() -> Session:
        return Session(engine)

    locks = RedisLocks(redis_client, prefix=prefix)
    runner = _Runner(queue)
    jobs = SyncJobs(
        session_factory=session_factory, client_for=lambda org: _client("webhook"), locks=locks
    )
    return WebhookWork(
        session_factory=session_factory,
        jobs=jobs,
        retries=WebhookRetries(session_factory=session_factory),
        modes=WebhookModes(),
        locks=locks,
        runner=lambda: runner,
        now=_utcnow,
    )


def _utcnow() -> Any:
    from xero_panel.clock import utcnow

    return utcnow()


def deliver(work: Any, redis_client: Any, prefix: str, changes: list[tuple[str, str, str]]) -> None:
    """What the webhook route does with one delivery naming these changes (tenant, invoice,
    marker): store its events in one statement, then start the fetches (one job per
    organisation, none when one is queued already). Each change's time is noted for its
    latency."""
    from xero_panel.sync.webhook_ingest import store_delivery

    t0 = time.monotonic()
    pipe = redis_client.pipeline(transaction=False)
    for tenant, invoice, marker in changes:
        pipe.rpush(f"{prefix}bench:t0:{tenant.lower()}:{invoice.lower()}", json.dumps([marker, t0]))
    pipe.execute()
    events = [_event(tenant, invoice, marker) for tenant, invoice, marker in changes]
    with work.session_factory() as session:
        stored = store_delivery(session, events, now=_utcnow(), retry_after=30, quiet_after=10800)
    work.start(stored.fresh)


def _event(tenant: str, invoice: str, marker: str) -> dict[str, Any]:
    """Xero's event for a change of ``invoice`` (its marker in ``eventDateUtc``, unique)."""
    return {
        "resourceId": invoice,
        "eventDateUtc": f"2026-07-01T00:00:00.{marker}",
        "eventType": "UPDATE",
        "eventCategory": "INVOICE",
        "tenantId": tenant,
        "tenantType": "ORGANISATION",
    }


def webhook_tenant_job(tenant: str) -> None:
    """The plugin's ``webhook_tenant`` job, then each change the cache now holds reported."""
    from sqlalchemy import select

    from xero_panel.models import Invoice

    world = _world()
    _work(world).run_tenant(tenant)
    org_id = world["orgs"][tenant]
    with world["engine"].connect() as db:
        rows = db.execute(
            select(Invoice.xero_id, Invoice.reference).where(Invoice.organisation_id == org_id)
        ).all()
    done = time.monotonic()
    prefix = world["prefix"]
    keys = [f"{prefix}bench:t0:{tenant.lower()}:{xero_id.lower()}" for xero_id, _ in rows]
    popped = _pop_up_to(world)(keys=keys, args=[reference or "" for _, reference in rows])
    _report_done(world, [(json.loads(item)[1], json.loads(item)[0]) for item in popped], done)


def _pop_up_to(world: dict[str, Any]) -> Any:
    if "pop_up_to" not in world:
        world["pop_up_to"] = world["redis"].register_script(_POP_UP_TO)
    return world["pop_up_to"]


def _report_done(world: dict[str, Any], changes: list[tuple[float, str]], done: float) -> None:
    """Each (t0, marker) change reached the cache at ``done``: one Redis command."""
    if changes:
        world["redis"].rpush(
            f"{world['prefix']}bench:done",
            *(json.dumps([t0, done, marker]) for t0, marker in changes),
        )


def _work(world: dict[str, Any]) -> Any:
    if "work" not in world:
        from rq import Queue

        queue = Queue(f"{os.environ['XP_FLEET_QUEUE']}-{HIGH}", connection=world["redis"])
        world["work"] = webhook_work(world["engine"], world["redis"], world["prefix"], queue)
    return world["work"]


# -- 0.2's webhook path: one job per delivery (--fetch per-delivery) ----------------------


def deliver_per_delivery(work: Any, queue: Any, changes: list[tuple[str, str, str]]) -> None:
    """What 0.2's webhook route did with a delivery: store its events, then queue ONE job
    with the new ones (the plugin's ``webhook`` job, which 0.3 still runs for jobs 0.2
    queued): the same bookkeeping as the per-organisation job, paid per delivery."""
    from xero_panel.sync.webhook_ingest import store_delivery

    t0 = time.monotonic()
    events = [_event(tenant, invoice, marker) for tenant, invoice, marker in changes]
    with work.session_factory() as session:
        stored = store_delivery(session, events, now=_utcnow(), retry_after=30, quiet_after=10800)
    markers = [e["eventDateUtc"].rsplit(".", 1)[1] for e in stored.fresh]
    queue.enqueue("fleet_jobs.webhook_delivery_job", stored.fresh, t0, markers)


def webhook_delivery_job(events: list[dict[str, Any]], t0: float, markers: list[str]) -> None:
    """The plugin's ``webhook`` job (``WebhookWork.run``: every event of the delivery, each
    organisation's records by ID, the success recorded, the events marked processed), then
    its changes reported."""
    world = _world()
    _work(world).run(events)
    _report_done(world, [(t0, marker) for marker in markers], time.monotonic())
