"""A fleet of organisations sharing one Xero app: N organisations in the emulator with its
app-wide limit scaled down so that it binds, reps' views polling them and webhook events
arriving at a given rate, the fetches done by 1, 2 and 4 RQ workers through the plugin's
Redis rate budget (kinds, shares, the app-wide minute) into the plugin's cache.

    .venv/bin/python benchmarks/bench_fleet.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    # 5,000 organisations (about 25 minutes): --orgs 5000 --app-limit 40000 --seconds 120
    # the quick run the tests make: --quick --no-save

Per worker count it runs ``--seconds`` of steady load (``--events`` webhook events a second,
each an invoice changed at the emulator and its fetch queued as the webhook route queues
it; ``--views`` panel views a second over random organisations, each polling its
organisation when the cache is older than ``--view-ttl``), then a burst of events for the
events-per-second figure. It reports the peak calls in any 60 s against the app's limit,
Xero's 429s by problem, webhook -> cache p50/p95, how old a view's data was, the largest
share of calls one organisation took, and events a second per worker count. It fails
loudly when the cache does not hold every change it claims to have fetched.

The RQ jobs are in `fleet_jobs.py`, the emulator process in `fleet_emulator.py`, the
driver's watch on its workers (a failed job or an exited worker ends the run at once, with
their logs) in `fleet_watch.py`, the cache's filling and final check in `fleet_cache.py`.
The cache is an SQLite file of the run's own, or with ``--database-url`` a PostgreSQL
schema of the run's own, dropped after it. With
``--profile DIR`` each worker is profiled; `fleet_profile.py` says where a job's time went.

What it leaves out: the webhook route itself (signature, storage; another benchmark's
business) and the panel's HTML; the jobs call the plugin's engine (``sync_by_ids``,
``incremental_sync``) with the plugin's client and budget.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from bench_common import ROOT, check, finish, percentile, progress, run_main
from bench_schema import Schema
from fleet_cache import setup_cache, verify_cache
from fleet_emulator import Fleet, fleet_seed
from fleet_jobs import HIGH, LOW, deliver, deliver_per_delivery, webhook_work, worker_main
from fleet_watch import Watch, drain

REDIS_URL = os.environ.get("XP_BENCH_REDIS", "redis://127.0.0.1:6379/0")


# -- the driver ---------------------------------------------------------------------------


def peak_per_minute(samples: list[tuple[float, int]]) -> int:
    """The most calls in any 60 s span of the (time, total calls) samples."""
    peak = 0
    start = 0
    for end in range(len(samples)):
        while samples[end][0] - samples[start][0] > 60:
            start += 1
        peak = max(peak, samples[end][1] - samples[start][1])
    return peak


def run_phase(
    args: argparse.Namespace, fleet: Fleet, env: dict[str, str], workers: int, fetch: str, db: Any
) -> Any:
    """``fetch``: ``per-event`` (one RQ job per event, fetching its invoice with the bare
    engine and recording nothing: the floor), ``per-delivery`` (0.2's path, the plugin's
    ``webhook`` job: each delivery stored, one job per delivery running
    ``WebhookWork.run`` with all its bookkeeping: the reference) or ``per-org`` (the
    plugin's path: each delivery stored, one job per organisation fetching all its stored
    events, none queued while one waits)."""
    import redis
    from rq import Queue

    client = redis.Redis.from_url(REDIS_URL)
    prefix = env["XP_FLEET_PREFIX"]
    queues = {q: Queue(f"{env['XP_FLEET_QUEUE']}-{q}", connection=client) for q in (HIGH, LOW)}
    work = webhook_work(db, client, prefix, queues[HIGH])

    def send(changes: list[tuple[str, str, str]]) -> None:
        if fetch == "per-org":
            deliver(work, client, prefix, changes)
            return
        if fetch == "per-delivery":
            deliver_per_delivery(work, queues[HIGH], changes)
            return
        for tenant, invoice, marker in changes:
            queues[HIGH].enqueue(
                "fleet_jobs.webhook_job", tenant, invoice, time.monotonic(), marker
            )

    for key in (f"{prefix}bench:done", f"{prefix}bench:views"):
        client.delete(key)
    logs = [args.scratch / f"worker-{fetch}-{workers}-{n}.log" for n in range(workers)]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--worker"],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    watch = Watch(queues, procs, logs)
    started = time.time()
    from rq import Worker

    while len(Worker.all(queue=queues[HIGH])) < workers:
        check(time.time() - started < 60, f"{workers} RQ workers did not start within 60 s")
        watch.check()
        time.sleep(0.1)
    tenants = sorted(fleet.books)
    rng = random.Random(workers)
    expected: dict[tuple[str, str], str] = {}
    stop = threading.Event()
    sampling = threading.Event()

    def change(tag: str, n: int) -> tuple[str, str, str]:
        tenant = rng.choice(tenants)
        invoice = rng.choice(fleet.books[tenant])
        marker = f"{tag}-{n}"
        fleet.ask("touch", (tenant, invoice, marker))
        expected[(tenant, invoice)] = marker
        return tenant, invoice, marker

    def events(rate: float, tag: str) -> int:
        sent = 0
        started = time.time()
        while not stop.is_set():
            delay = started + sent / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            if stop.is_set():
                break
            send([change(tag, sent)])
            sent += 1
        return sent

    def views() -> None:
        n = 0
        started = time.time()
        while not stop.is_set():
            delay = started + n / args.views - time.time()
            if delay > 0:
                time.sleep(delay)
            queues[LOW].enqueue(
                "fleet_jobs.view_job", rng.choice(tenants), time.time(), args.view_ttl
            )
            n += 1

    samples: list[tuple[float, int]] = []

    def sample() -> None:
        while not sampling.is_set():
            samples.append((time.time(), sum(t["calls"] for t in fleet.ask("stats").values())))
            time.sleep(1)

    try:  # the load's threads and the workers stop however the phase ends
        threads = [
            threading.Thread(target=views, daemon=True),
            threading.Thread(target=sample, daemon=True),
        ]
        for thread in threads:
            thread.start()
        deadline = time.time() + args.seconds
        sent_box: list[int] = []
        tag = f"{fetch[4]}{workers}"  # e, d or o (per-event, -delivery, -org): markers unique
        ev = threading.Thread(target=lambda: sent_box.append(events(args.events, f"{tag}w")))
        ev.start()
        time.sleep(max(0.0, deadline - time.time()))
        stop.set()
        ev.join()
        threads[0].join()
        steady = sent_box[0]
        drain(client, watch, prefix, steady, args.drain_timeout)
        steady_done = [json.loads(x) for x in client.lrange(f"{prefix}bench:done", 0, -1)]
        latencies = [done - t0 for t0, done, _ in steady_done]
        view_ages = [
            age for _, age in map(json.loads, client.lrange(f"{prefix}bench:views", 0, -1))
        ]
        # The burst: changes made first, then their fetches queued at once and drained.
        client.delete(f"{prefix}bench:done")
        changes = [change(f"{tag}b", n) for n in range(args.burst)]
        burst_started = time.monotonic()
        send(changes)  # one delivery (Xero's replay after an outage), or a job per event
        burst = len(changes)
        drain(client, watch, prefix, burst, args.drain_timeout)
        sampling.set()
        threads[1].join()
        burst_done = [json.loads(x) for x in client.lrange(f"{prefix}bench:done", 0, -1)]
        burst_seconds = max(d for _, d, _ in burst_done) - burst_started
    finally:
        stop.set()
        sampling.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            with suppress(subprocess.TimeoutExpired):
                proc.wait(10)
    return {
        "events": steady,
        "webhook_p50_s": round(percentile(latencies, 0.5), 3),
        "webhook_p95_s": round(percentile(latencies, 0.95), 3),
        "view_age_p50_s": round(percentile([a for a in view_ages if a >= 0] or [0], 0.5), 1),
        "view_age_p95_s": round(percentile([a for a in view_ages if a >= 0] or [0], 0.95), 1),
        "views": len(view_ages),
        "burst_events": burst,
        "events_per_s": round(burst / burst_seconds, 1),
        "calls_samples": samples,
        "expected": expected,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=500)
    parser.add_argument("--invoices", type=int, default=20, help="per organisation")
    parser.add_argument("--app-limit", type=int, default=0, help="default: 8 per organisation")
    parser.add_argument("--events", type=float, default=50.0, help="webhook events a second")
    parser.add_argument("--views", type=float, default=40.0, help="panel views a second")
    parser.add_argument("--view-ttl", type=float, default=15.0)
    parser.add_argument("--seconds", type=float, default=60.0, help="steady load per phase")
    parser.add_argument("--burst", type=int, default=1500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--fetch",
        nargs="+",
        choices=["per-event", "per-delivery", "per-org"],
        default=["per-event", "per-delivery", "per-org"],
        help="how webhook fetches are queued (all three by default, side by side: the bare"
        " floor, 0.2's job per delivery, the plugin's job per organisation; the last one"
        " gives events_per_s_4_vs_2)",
    )
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument(
        "--database-url",
        help="PostgreSQL: the cache is made in a schema of the run's own there, dropped after"
        " it; default: an SQLite file of the run's own (two runs at once never share one)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="cProfile each RQ worker; statistics in DIR/worker-<pid>.prof",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run (the tests' size)")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main()
        return
    if args.quick:
        args.orgs, args.invoices, args.events, args.views = 6, 3, 5.0, 4.0
        args.seconds, args.burst, args.workers, args.view_ttl = 3.0, 20, [1, 2], 2.0
        args.app_limit = args.app_limit or 600
        args.drain_timeout = min(args.drain_timeout, 60.0)
    app_limit = args.app_limit or 8 * args.orgs
    progress(f"{args.orgs} organisations, app limit {app_limit} calls a minute")
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    fleet = Fleet(args.orgs, args.invoices, app_limit)
    schema = Schema(args.database_url)
    failed = True
    try:
        with tempfile.TemporaryDirectory(prefix="xp-bench-fleet-") as scratch:
            args.scratch = Path(scratch)
            figures = run(args, fleet, app_limit, schema.url)
        failed = False
    finally:
        fleet.stop()
        schema.drop(failed=failed)
    name = "fleet-quick" if args.quick else f"fleet-{args.orgs}"
    finish(name, figures, args.database_url or "sqlite", save=not args.no_save)


def run(
    args: argparse.Namespace, fleet: Fleet, app_limit: int, database_url: str
) -> dict[str, Any]:
    import redis

    progress("filling the cache as the organisations' first syncs would have")
    engine = setup_cache(database_url, fleet_seed(args.orgs, args.invoices))
    token = fleet.ask("tokens")["access_token"]
    prefix = f"xp-fleet-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), str(ROOT)]),
        "XP_FLEET_REDIS": REDIS_URL,
        "XP_FLEET_PREFIX": prefix,
        "XP_FLEET_QUEUE": prefix.rstrip(":"),
        "XP_FLEET_DB": database_url,
        "XP_FLEET_API": fleet.url,
        "XP_FLEET_TOKEN": token,
        "XP_FLEET_APP_LIMIT": str(app_limit),
    }
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        env["XP_FLEET_PROFILE"] = os.path.abspath(args.profile)
    client = redis.Redis.from_url(REDIS_URL)
    phases: dict[str, Any] = {}
    all_samples: list[tuple[float, int]] = []
    expected: dict[tuple[str, str], str] = {}
    try:
        for workers in args.workers:
            for fetch in args.fetch:  # side by side, so both see the same machine
                name = f"{fetch} {workers}"
                progress(f"{name} worker(s): {args.seconds:.0f} s of steady load, then a burst")
                phase = run_phase(args, fleet, env, workers, fetch, engine)
                expected.update(phase.pop("expected"))
                samples = phase.pop("calls_samples")
                phase["calls_peak_per_minute"] = peak_per_minute(samples)
                phase["load_average_1m"] = os.getloadavg()[0]
                all_samples += samples
                phases[name] = phase
                progress(f"{name} worker(s): {json.dumps(phase, sort_keys=True)}")
        verify_cache(engine, expected)
        stats = fleet.ask("stats")
        problems = {k.decode(): int(v) for k, v in client.hgetall(f"{prefix}bench:429").items()}
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        for key in client.scan_iter(f"rq:*{prefix.rstrip(':')}*"):
            client.delete(key)
        engine.dispose()
    calls = {tenant: t["calls"] for tenant, t in stats.items()}
    total = sum(calls.values())
    check(total > 0, "no call reached the emulator")
    emulator_429s = sum(t["rate_limited"] for t in stats.values())
    check(
        emulator_429s == sum(problems.values()),
        f"the emulator answered {emulator_429s} 429s, the workers saw {sum(problems.values())}",
    )
    peak = max(p["calls_peak_per_minute"] for p in phases.values())
    last = args.fetch[-1]
    two = phases.get(f"{last} 2", {}).get("events_per_s")
    four = phases.get(f"{last} 4", {}).get("events_per_s")
    return {
        "orgs": args.orgs,
        "app_limit_per_minute": app_limit,
        "events_per_s_offered": args.events,
        "views_per_s_offered": args.views,
        "calls_total": total,
        "calls_peak_per_minute": peak,
        "calls_peak_vs_app_limit": round(peak / app_limit, 3),
        "rate_limited_by_problem": problems,
        "rate_limited_total": emulator_429s,
        "largest_org_share": round(max(calls.values()) / total, 4),
        "changes_verified": len(expected),
        "phases": phases,
        "events_per_s_4_vs_2": round(four / two, 2) if two and four else None,
    }


if __name__ == "__main__":
    run_main(main)
