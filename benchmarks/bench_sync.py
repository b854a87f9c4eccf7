"""Benchmark the sync against the emulator over HTTP: Xero calls and seconds.

Run from the repository root::

    .venv/bin/python benchmarks/bench_sync.py                  # SQLite, N = 1,000 and 5,000
    .venv/bin/python benchmarks/bench_sync.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_sync.py --sizes 1000 5000 --redis-url redis://127.0.0.1:6379/15

Prints progress, then its figures as one JSON object on the last line (also written to
``benchmarks/results/``). Measures, per size N: a cold full sync (the first sync after
*Save*), a warm panel-view check (cache fresh: no call), 100 concurrent views of stale
data (threads; single-flight), an unchanged tenant's incremental refresh, and a
reconciliation, whole (calls, seconds, SQL statements) and in chunks of two calls (it must
make the same calls). Calls are read from the plugin's own call counter
(``xero_panel/xero/call_counter.py``, the count the rate budget and ``flask xero-panel
status`` use), and checked against the emulator's count of the calls it answered. With
``--redis-url`` locks, the rate budget and the counter live in Redis (the full sync still runs
inline, not on RQ).
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

sys.path.insert(0, str(ROOT / "benchmarks"))

from _sync_support import SyncHost  # noqa: E402
from bench_common import check, finish, progress, run_main  # noqa: E402
from conftest import build_host_app  # noqa: E402


class DropJobs:
    """A runner that runs nothing."""

    def submit(self, job: str, *args: Any) -> None:
        pass


class Counted:
    """Xero calls of one tenant, as the plugin counted them and as the emulator saw them."""

    def __init__(self, h: SyncHost) -> None:
        self.h = h
        self.start()

    def _sent(self) -> int:
        return int(self.h.state.backends.counter.count(self.h.tenant_id).sent)

    def start(self) -> None:
        self.h.emulator.reset_stats()
        self.before = self._sent()

    def calls(self) -> dict[str, int]:
        """``calls`` (the plugin's count since :meth:`start`) and ``rate_limited`` (429s)."""
        seen = self.h.calls()
        counted = self._sent() - self.before
        check(
            counted == seen["calls"],
            f"counted {counted} calls, the emulator answered {seen['calls']}",
        )
        return {"calls": counted, "rate_limited": seen["rate_limited"]}


def bench(n: int, database_url: str, redis_url: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {"XERO_PANEL_SYNC_WAIT": 30, "tenant_id": str(uuid.uuid4())}
    if redis_url:
        config.update(
            XERO_PANEL_REDIS_URL=redis_url,
            XERO_PANEL_REDIS_PREFIX=f"xp-bench-{uuid.uuid4().hex[:8]}:",
            XERO_PANEL_RQ_QUEUE=f"xp-bench-{uuid.uuid4().hex[:8]}",
        )
    h = SyncHost(lambda url, **c: build_host_app(url, **c), database_url, n_invoices=n, **config)
    out: dict[str, Any] = {"n": n}
    try:
        with h.app.app_context():
            h.host.db.drop_all()
            h.host.db.create_all()
            # store_connection queues the first sync, as Save does; drop that job so the
            # cold sync measured below is the first and only one.
            runner, h.scheduler.runner = h.scheduler.runner, DropJobs()
            try:
                connection = h.host.panel.store_connection(
                    "acme", h.emulator.issue_tokens(user_email="owner@bench.test")
                )
            finally:
                h.scheduler.runner = runner
            h.org_id = connection.organisations[0].id
            h.organisations = list(connection.organisations)
        counted = Counted(h)

        started = time.perf_counter()
        with h.app.app_context():
            result = h.scheduler.run_full_sync(h.org_id)
        out["cold_seconds"] = time.perf_counter() - started
        check(bool(result), "run_full_sync returned nothing: another sync held the lock")
        expected = n + sum(
            1 for note in h.seed["tenants"][0]["CreditNotes"] if note["Type"] == "ACCRECCREDIT"
        )
        check(h.count() == expected, f"the cache holds {h.count()} documents, not {expected}")
        calls = counted.calls()
        out["cold_calls"] = calls["calls"]
        out["cold_limit"] = math.ceil(n / 1000) + 3
        out["cold_429"] = calls["rate_limited"]

        counted.start()
        started = time.perf_counter()
        h.view()
        out["warm_seconds"] = time.perf_counter() - started
        out["warm_calls"] = counted.calls()["calls"]

        h.age()
        counted.start()
        barrier = threading.Barrier(100)
        done: list[float] = []

        def view() -> None:
            barrier.wait()
            t0 = time.perf_counter()
            h.view()
            done.append(time.perf_counter() - t0)

        threads = [threading.Thread(target=view) for _ in range(100)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out["stale100_seconds"] = time.perf_counter() - started
        out["stale100_slowest_view"] = max(done)
        out["stale100_calls"] = counted.calls()["calls"]

        h.age()
        counted.start()
        started = time.perf_counter()
        h.view()
        out["refresh_seconds"] = time.perf_counter() - started
        out["refresh_calls"] = counted.calls()["calls"]
        out.update(reconciliations(h, counted))
    finally:
        h.close()
        with h.app.app_context():
            h.host.db.drop_all()
            h.host.db.engine.dispose()
    return out


def reconciliations(h: SyncHost, counted: Counted) -> dict[str, Any]:
    """A whole reconciliation (calls, seconds, SQL statements), then the same in chunks of
    two calls, as a worker with more urgent work queued runs it: it must read each page once,
    so its calls equal the whole one's."""
    from sqlalchemy import event

    out: dict[str, Any] = {}
    with h.app.app_context():
        engine = h.host.db.engine
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count)
        try:
            counted.start()
            started = time.perf_counter()
            whole = h.scheduler.jobs.run_reconcile(h.org_id)
            out["reconcile_seconds"] = time.perf_counter() - started
            out["reconcile_calls"] = counted.calls()["calls"]
            out["reconcile_statements"] = statements[0]
        finally:
            event.remove(engine, "before_cursor_execute", count)
        check(bool(whole) and not whole.get("paused"), f"the reconciliation did not run: {whole}")
        counted.start()
        chunks, counts = 0, {"paused": 1}
        while counts.get("paused"):
            counts = h.scheduler.jobs.run_reconcile(
                h.org_id, pause=lambda pages: pages >= 2, continuing=chunks > 0
            )
            chunks += 1
        out["reconcile_chunks"] = chunks
        out["reconcile_chunked_calls"] = counted.calls()["calls"]
    check(
        out["reconcile_chunked_calls"] == out["reconcile_calls"],
        f"in chunks the reconciliation made {out['reconcile_chunked_calls']} calls,"
        f" whole {out['reconcile_calls']}",
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--no-save", dest="save", action="store_false")
    args = parser.parse_args(argv)
    print(f"# {platform.node()} {platform.machine()} {platform.python_version()}")
    print(f"# {platform.platform()}; database {args.database_url or 'SQLite (temp file)'}")
    where = "Redis " + args.redis_url if args.redis_url else "in process"
    print(f"# locks, rate budget and call counter {where}")
    header = (
        "| N | cold calls (limit) | cold s | 429s | warm view calls | warm view ms"
        " | 100 stale views calls | 100 stale views s (slowest)"
        " | unchanged refresh calls | refresh ms |"
    )
    progress(header)
    progress("|" + "---|" * 10)
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            r = bench(n, url, args.redis_url)
        results.append(r)
        progress(
            f"| {r['n']:,} | {r['cold_calls']} ({r['cold_limit']}) | {r['cold_seconds']:.2f}"
            f" | {r['cold_429']} | {r['warm_calls']} | {r['warm_seconds'] * 1000:.1f}"
            f" | {r['stale100_calls']} | {r['stale100_seconds']:.2f}"
            f" ({r['stale100_slowest_view']:.2f}) | {r['refresh_calls']}"
            f" | {r['refresh_seconds'] * 1000:.1f} |"
        )
        progress(
            f"reconciliation of {r['n']:,}: {r['reconcile_calls']} calls,"
            f" {r['reconcile_seconds']:.2f} s, {r['reconcile_statements']} statements;"
            f" in {r['reconcile_chunks']} chunks of 2 calls: {r['reconcile_chunked_calls']} calls"
        )
    label = "postgresql" if args.database_url else "sqlite"
    redis = "-redis" if args.redis_url else ""
    sizes = "-".join(str(n) for n in args.sizes)
    figures = {"locks": where, "sizes": results}
    finish(
        f"bench_sync-{sizes}-{label}{redis}", figures, args.database_url or "sqlite", save=args.save
    )


if __name__ == "__main__":
    run_main(main)
