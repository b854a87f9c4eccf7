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

Timing the panel again without loading again (PostgreSQL only)::

    .venv/bin/python benchmarks/bench_scale.py --invoices 1000000 --large \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --keep-schema xp_1m
    .venv/bin/python benchmarks/bench_scale.py --invoices 1000000 --large \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --reuse-schema xp_1m
    psql postgresql://postgres@127.0.0.1:5432/test -c 'DROP SCHEMA xp_1m CASCADE'

``--keep-schema NAME`` runs as above in the schema NAME and leaves it in place (with a table
``xp_bench_kept`` saying what it holds); a run that fails drops it all the same.
``--reuse-schema NAME`` starts no emulator and runs no sync: it checks that the schema was
kept with the same ``--invoices`` and that its cache holds their documents, marks the
organisation fresh (Xero's address is a port nothing listens on: no view should call it),
then makes the same panel requests, ``--repeat`` times each, and prints
the panel figures, the 1-minute load average and where the plugin was imported from (so
another version of the plugin can be timed against the same rows: put its tree first on
``PYTHONPATH``). It does not ``ANALYZE`` again: every reuse run plans with the statistics
of the run that kept the schema. It leaves the schema in place. ``--tag TAG`` is appended to
the results files' names (one per code version, say).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
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
from bench_plans import plans
from bench_schema import SCHEMA_NAME, Schema

SEARCH = "INV-00001"
VIEWS = ("unpaid", "open", "overdue", "paid", "pinned", "all")
#: Above this many invoices the run needs --large (it takes long and needs memory).
LARGE = 100_000
#: Where a reuse run sends any Xero call: nothing listens there (and none is expected).
NO_XERO = "http://127.0.0.1:9"


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


def stamp(app: Any, organisation_id: int, ago: dt.timedelta) -> None:
    """Mark the cache refreshed ``ago`` (an hour: as if the TTL had passed; nothing: fresh)."""
    from sqlalchemy import update

    from xero_panel.models import SyncState

    db = app.extensions["bench_db"]
    then = dt.datetime.now(dt.UTC) - ago
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


def bench(args: argparse.Namespace) -> dict[str, Any]:
    if args.reuse_schema:
        return reuse(args)
    n = args.invoices
    progress(f"generating and loading {n:,} invoices into the emulator (its own process)")
    started = time.perf_counter()
    options: dict[str, Any] = {"latency_ms": args.latency_ms}
    emulator = EmulatorProcess(n, big=args.big, **options)
    progress(f"emulator ready at {emulator.url} in {time.perf_counter() - started:.1f} s")
    schema = Schema(args.database_url, args.keep_schema)
    failed = True
    try:
        figures = measure(args, emulator, schema)
        failed = False
        return figures
    finally:
        emulator.stop()
        schema.drop(failed=failed)
        if schema.keep and not failed:
            progress(f"schema {args.keep_schema} kept: reuse it with --reuse-schema")


def measure(args: argparse.Namespace, emulator: EmulatorProcess, schema: Schema) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    app = create_app(schema.url, emulator.url, customer=big_customer_name(), encryption_key=key)
    try:
        return sync_and_time(args, emulator, schema, app, key)
    finally:  # a failed run too: its connections must not outlive it (nor block a DROP)
        with app.app_context():
            app.extensions["bench_db"].engine.dispose()


def sync_and_time(
    args: argparse.Namespace, emulator: EmulatorProcess, schema: Schema, app: Any, key: str
) -> dict[str, Any]:
    n = args.invoices
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
    if postgres:
        # What autovacuum does soon after a bulk load: planner statistics for the
        # plugin's tables, so the plans below are the ones a live database would use.
        with app.app_context(), db.engine.begin() as conn:
            for table in ("invoice", "payment", "contact", "contact_email", "pin"):
                conn.exec_driver_sql(f"ANALYZE xero_panel_{table}")
    client, panel, captured = time_panel(app, args, emulator.tenant_id)

    stamp(app, org_id, dt.timedelta(hours=1))
    old = fresh_at(app, org_id)
    before = sent(app, emulator.tenant_id)
    check(client.get(panel_requests(SEARCH)[-2][1]).status_code == 200, "stale view failed")
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
        **panel,
        "unchanged_refresh_calls": refresh_calls,
    }
    if postgres:
        figures["all_view_explain_ms"] = plans(
            app, captured, result_name(args) if args.save else None
        )
    if schema.keep:
        schema.write_kept(
            invoices=n,
            big=args.big,
            tenant_id=emulator.tenant_id,
            organisation_id=org_id,
            encryption_key=key,
        )
    return figures


def reuse(args: argparse.Namespace) -> dict[str, Any]:
    """The panel measurement alone, against a schema kept by an earlier run: no emulator, no
    sync; the organisation is marked fresh, so a view that calls Xero fails the run."""
    import xero_panel

    plugin = str(Path(xero_panel.__file__).resolve().parent)
    progress(f"plugin imported: {plugin}")
    schema = Schema(args.database_url, args.reuse_schema, reuse=True)
    app: Any = None
    try:
        kept = schema.read_kept()
        check(
            int(kept["invoices"]) == args.invoices,
            f"schema {args.reuse_schema} holds {int(kept['invoices']):,} invoices' books, "
            f"not --invoices {args.invoices:,}",
        )
        org_id = int(kept["organisation_id"])
        app = create_app(
            schema.url, NO_XERO, customer=big_customer_name(), encryption_key=kept["encryption_key"]
        )
        expected = cached_documents(args.invoices)
        held = cache_count(app, org_id)
        check(
            held == expected,
            f"the reused schema's cache holds {held:,} documents, not {expected:,}",
        )
        stamp(app, org_id, dt.timedelta(0))
        progress(f"reusing schema {args.reuse_schema}: {held:,} cached, marked fresh")
        _client, panel, captured = time_panel(app, args, kept["tenant_id"])
        figures: dict[str, Any] = {
            "invoices": args.invoices,
            "database": database_label(schema.url),
            "reused_schema": args.reuse_schema,
            "plugin": plugin,
            "cached_documents": held,
            **panel,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "all_view_explain_ms": plans(app, captured, result_name(args) if args.save else None),
        }
        return figures
    finally:
        if app is not None:
            with app.app_context():
                app.extensions["bench_db"].engine.dispose()
        schema.drop()


def time_panel(
    app: Any, args: argparse.Namespace, tenant_id: str
) -> tuple[Any, dict[str, Any], dict[str, list[tuple[str, Any]]]]:
    """Sign in, then each view once counting its SQL and ``--repeat`` times timed; fails
    unless every answer is the panel and no view called Xero. Returns the signed-in client,
    the figures and each view's statements."""
    db = app.extensions["bench_db"]
    with app.app_context():
        counter = SQLCounter(db.engine)
    client = app.test_client()
    check(client.get(f"/login/{USER_ID}").status_code == 302, "could not sign in")
    timings: dict[str, list[float]] = {}
    statements: dict[str, int] = {}
    captured: dict[str, list[tuple[str, Any]]] = {}
    before = sent(app, tenant_id)
    for name, url in panel_requests(SEARCH):
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
    warm_calls = sent(app, tenant_id) - before
    check(warm_calls == 0, f"warm views made {warm_calls} Xero calls")
    every = [ms for values in timings.values() for ms in values]
    figures = {
        "panel_p50_ms": round(percentile(every, 0.5), 2),
        "panel_p95_ms": round(percentile(every, 0.95), 2),
        "panel_view_p95_ms": {k: round(percentile(v, 0.95), 2) for k, v in timings.items()},
        "panel_sql_statements": statements,
        "warm_view_calls": warm_calls,
    }
    return client, figures, captured


def result_name(args: argparse.Namespace) -> str:
    label = "postgresql" if args.database_url else "sqlite"
    latency = f"-latency{args.latency_ms}" if args.latency_ms else ""
    reused = "-reuse" if args.reuse_schema else ""
    tag = f"-{args.tag}" if args.tag else ""
    return f"bench_scale-{args.invoices}-{label}{latency}{reused}{tag}"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a SQLite temp file")
    parser.add_argument("--big", type=int, default=1000, help="invoices of the big customer")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per view")
    parser.add_argument("--latency-ms", type=int, default=0, help="emulator delay per call")
    parser.add_argument("--large", action="store_true", help=f"allow more than {LARGE:,}")
    parser.add_argument("--no-save", dest="save", action="store_false")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument(
        "--keep-schema", metavar="NAME", help="load into PostgreSQL schema NAME and keep it"
    )
    kept.add_argument(
        "--reuse-schema", metavar="NAME", help="time the panel only, on a kept schema NAME"
    )
    parser.add_argument("--tag", default="", help="appended to the results files' names")
    args = parser.parse_args(argv)
    name = args.keep_schema or args.reuse_schema
    if name is not None and not SCHEMA_NAME.fullmatch(name):
        parser.error("a schema NAME is lower-case letters, digits and _, not starting with a digit")
    if name is not None and args.database_url is None:
        parser.error("--keep-schema and --reuse-schema need a PostgreSQL --database-url")
    if args.reuse_schema and args.latency_ms:
        parser.error("--reuse-schema calls no Xero: --latency-ms does not apply")
    if args.tag and not re.fullmatch(r"[A-Za-z0-9_.-]+", args.tag):
        parser.error("--tag is letters, digits, '.', '_' and '-'")
    if args.invoices > LARGE and not args.large:
        parser.error(f"more than {LARGE:,} invoices takes long and needs memory: add --large")
    if args.invoices < 1 or args.repeat < 1:
        parser.error("--invoices and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    # This script times rendering at scale: every view rendered (the fragment cache of
    # issue 25 would serve the repeats), as in the figures before it.
    os.environ["BENCH_FRAGMENT_CACHE"] = "off"
    figures = bench(args)
    finish(result_name(args), figures, args.database_url or "sqlite", save=args.save)


if __name__ == "__main__":
    run_main(main)
