"""Scale: a tenant of N invoices through the emulator, its cold sync, then panel timings.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scale.py                       # N = 10,000, SQLite
    .venv/bin/python benchmarks/bench_scale.py --invoices 10000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_scale.py --invoices 1000000 --large \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_scale.py --invoices 2000 --latency-ms 300

The tenant (``bench_common.books``): about N/100 customers, one of them with 1,000 invoices,
30% paid, 10% part paid, 3% voided, a customer credit note per 50 invoices, a few supplier
bills. The emulator runs in a process of its own, so ``sync_peak_rss_mb`` is the peak RSS of
the process that ran the sync (the plugin, Flask, SQLAlchemy and the sync), not of the
emulator. Xero calls are the plugin's own count (its call counter), checked against the
emulator's. On PostgreSQL the plan of each panel query (``EXPLAIN ANALYZE``) is written next to
the results. Fails (exit 1, no results) unless the cache holds the N invoices after the cold
sync, a warm view made no call and the unchanged refresh really refreshed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    RESULTS,
    EmulatorProcess,
    SQLCounter,
    big_customer_name,
    cached_documents,
    check,
    database_label,
    fewest_calls,
    finish,
    peak_rss_mb,
    percentile,
    progress,
    run_main,
)
from bench_host import PANEL_PATH, USER_ID, connect, create_app

VIEWS = ("unpaid", "open", "overdue", "paid", "pinned", "all")
#: Above this many invoices the run needs --large (it takes long and needs memory).
LARGE = 100_000


class Schema:
    """A PostgreSQL schema of its own for one run (dropped afterwards), or a SQLite file."""

    def __init__(self, database_url: str | None) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self._engine: Any = None
        if database_url is None:
            self.url = f"sqlite:///{self._tmp.name}/bench.db"
            return
        import sqlalchemy as sa

        self.name = f"xp_bench_{uuid.uuid4().hex[:10]}"
        self._engine = sa.create_engine(database_url)
        with self._engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.name}"'))
        separator = "&" if "?" in database_url else "?"
        self.url = f"{database_url}{separator}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        if self._engine is not None:
            import sqlalchemy as sa

            with self._engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{self.name}" CASCADE'))
            self._engine.dispose()
        self._tmp.cleanup()


def cache_count(app: Any, organisation_id: int) -> int:
    from sqlalchemy import func, select

    from xero_panel.models import Invoice

    db = app.extensions["bench_db"]
    with app.app_context():
        return int(
            db.session.scalar(
                select(func.count(Invoice.id)).where(Invoice.organisation_id == organisation_id)
            )
            or 0
        )


def sent(app: Any, tenant_id: str) -> int:
    from xero_panel.state import get_state

    return int(get_state(app).backends.counter.count(tenant_id).sent)


def age(app: Any, organisation_id: int) -> None:
    """Make the cache an hour old, as if the TTL had passed."""
    from sqlalchemy import update

    from xero_panel.models import SyncState

    db = app.extensions["bench_db"]
    then = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with app.app_context():
        db.session.execute(
            update(SyncState)
            .where(SyncState.organisation_id == organisation_id)
            .values(fresh_at=then, last_error_at=None)
        )
        db.session.commit()


def fresh_at(app: Any, organisation_id: int) -> Any:
    from xero_panel.models import SyncState

    db = app.extensions["bench_db"]
    with app.app_context():
        state = db.session.get(SyncState, organisation_id)
        return None if state is None else state.fresh_at


def panel_requests(search: str) -> list[tuple[str, str]]:
    out = [(view, f"{PANEL_PATH}?view={view}") for view in VIEWS]
    out.append(("search", f"{PANEL_PATH}?view=all&q={search}"))
    return out


def explain(app: Any, statements: list[tuple[str, Any]]) -> str:
    """``EXPLAIN ANALYZE`` of each SELECT, as text."""
    db = app.extensions["bench_db"]
    out = []
    with app.app_context(), db.engine.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            out.append(statement.strip())
            out.append(f"-- parameters: {parameters!r}")
            out.extend(row[0] for row in plan)
            out.append("")
    return "\n".join(out)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    n = args.invoices
    progress(f"generating and loading {n:,} invoices into the emulator (its own process)")
    started = time.perf_counter()
    options: dict[str, Any] = {"latency_ms": args.latency_ms}
    emulator = EmulatorProcess(n, big=args.big, **options)
    progress(f"emulator ready at {emulator.url} in {time.perf_counter() - started:.1f} s")
    schema = Schema(args.database_url)
    try:
        return measure(args, emulator, schema)
    finally:
        emulator.stop()
        schema.drop()


def measure(args: argparse.Namespace, emulator: EmulatorProcess, schema: Schema) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    n = args.invoices
    app = create_app(
        schema.url,
        emulator.url,
        customer=big_customer_name(),
        encryption_key=Fernet.generate_key().decode(),
    )
    org_id = connect(app, emulator.issue_tokens())
    check(cache_count(app, org_id) == 0, "the cache is not empty before the cold sync")
    from xero_panel.state import get_state

    scheduler: Any = get_state(app).scheduler
    emulator.reset_stats()
    before = sent(app, emulator.tenant_id)
    rss_before = peak_rss_mb()
    progress(f"cold sync of {n:,} invoices (peak RSS so far {rss_before} MB)")
    started = time.perf_counter()
    with app.app_context():
        result = scheduler.run_full_sync(org_id)
    cold_s = time.perf_counter() - started
    rss = peak_rss_mb()
    calls = sent(app, emulator.tenant_id) - before
    seen = emulator.tenant_stats()
    expected = cached_documents(n)
    held = cache_count(app, org_id)
    check(bool(result), "run_full_sync returned nothing: another sync held the lock")
    check(
        held == expected,
        f"after the cold sync the cache holds {held:,} documents, not {expected:,}",
    )
    check(
        calls == seen["calls"],
        f"the plugin counted {calls} calls, the emulator answered {seen['calls']}",
    )
    progress(
        f"cold sync: {calls} calls, {seen['rate_limited']} 429s, {cold_s:.2f} s, {held:,} cached"
    )

    db = app.extensions["bench_db"]
    postgres = database_label(schema.url) == "postgresql"
    with app.app_context():
        counter = SQLCounter(db.engine)
        if postgres:
            # What autovacuum does soon after a bulk load: planner statistics for the
            # plugin's tables, so the plans below are the ones a live database would use.
            with db.engine.begin() as conn:
                for table in ("invoice", "payment", "contact", "contact_email", "pin"):
                    conn.exec_driver_sql(f"ANALYZE xero_panel_{table}")
    client = app.test_client()
    check(client.get(f"/login/{USER_ID}").status_code == 302, "could not sign in")
    search = "INV-00001"
    timings: dict[str, list[float]] = {}
    statements: dict[str, int] = {}
    captured: dict[str, list[tuple[str, Any]]] = {}
    before = sent(app, emulator.tenant_id)
    for name, url in panel_requests(search):
        with counter.counting() as seen_sql:
            response = client.get(url)
        check(response.status_code == 200, f"{url} answered {response.status_code}")
        body = response.get_data(as_text=True)
        check("INV-" in body or name == "pinned", f"{url} shows no invoice")
        statements[name] = len(seen_sql)
        captured[name] = list(seen_sql)
        ms = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(url)
            ms.append((time.perf_counter() - t0) * 1000)
            check(response.status_code == 200, f"{url} answered {response.status_code}")
        timings[name] = ms
    warm_calls = sent(app, emulator.tenant_id) - before
    check(warm_calls == 0, f"warm views made {warm_calls} Xero calls")
    every = [ms for values in timings.values() for ms in values]

    age(app, org_id)
    old = fresh_at(app, org_id)
    before = sent(app, emulator.tenant_id)
    check(client.get(panel_requests(search)[-2][1]).status_code == 200, "stale view failed")
    refresh_calls = sent(app, emulator.tenant_id) - before
    check(fresh_at(app, org_id) != old, "the stale view did not refresh the cache")

    figures: dict[str, Any] = {
        "invoices": n,
        "database": database_label(schema.url),
        "latency_ms": args.latency_ms,
        "cached_documents": held,
        "cold_sync_calls": calls,
        "cold_sync_call_limit": math.ceil(n / 1000) + 3,
        "cold_sync_fewest_calls": fewest_calls(n),
        "cold_sync_s": round(cold_s, 2),
        "cold_sync_429s": seen["rate_limited"],
        "sync_peak_rss_mb": rss,
        "rss_before_sync_mb": rss_before,
        "panel_p50_ms": round(percentile(every, 0.5), 2),
        "panel_p95_ms": round(percentile(every, 0.95), 2),
        "panel_view_p95_ms": {k: round(percentile(v, 0.95), 2) for k, v in timings.items()},
        "panel_sql_statements": statements,
        "warm_view_calls": warm_calls,
        "unchanged_refresh_calls": refresh_calls,
    }
    if postgres:
        text = "\n".join(
            f"==== view {name} ====\n{explain(app, captured[name])}" for name in ("all", "search")
        )
        check("Execution Time" in text, "EXPLAIN gave no plan")
        if args.save:
            path = RESULTS / f"{result_name(args)}-explain.txt"
            RESULTS.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            progress(f"plans written to {path.name}")
    with app.app_context():
        db.engine.dispose()
    return figures


def result_name(args: argparse.Namespace) -> str:
    label = "postgresql" if args.database_url else "sqlite"
    latency = f"-latency{args.latency_ms}" if args.latency_ms else ""
    return f"bench_scale-{args.invoices}-{label}{latency}"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a SQLite temp file")
    parser.add_argument("--big", type=int, default=1000, help="invoices of the big customer")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per view")
    parser.add_argument("--latency-ms", type=int, default=0, help="emulator delay per call")
    parser.add_argument("--large", action="store_true", help=f"allow more than {LARGE:,}")
    parser.add_argument("--no-save", dest="save", action="store_false")
    args = parser.parse_args(argv)
    if args.invoices > LARGE and not args.large:
        parser.error(f"more than {LARGE:,} invoices takes long and needs memory: add --large")
    if args.invoices < 1 or args.repeat < 1:
        parser.error("--invoices and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    figures = bench(args)
    finish(result_name(args), figures, args.database_url or "sqlite", save=args.save)


if __name__ == "__main__":
    run_main(main)
