"""The benchmark scripts themselves, at tiny sizes: their JSON last line, their results
files, and that they fail loudly when they did not measure what they claim. No timings are
asserted."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_common  # noqa: E402
import bench_scale  # noqa: E402

from tests.conftest import POSTGRES_URL, require_service  # noqa: E402

SCALE_KEYS = {
    "invoices",
    "cold_sync_calls",
    "cold_sync_s",
    "cold_sync_429s",
    "sync_peak_rss_mb",
    "panel_p50_ms",
    "panel_p95_ms",
    "unchanged_refresh_calls",
}
PANEL_KEYS = {
    "panel_rps",
    "reference_rps",
    "ratio",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "body_bytes",
    "sql_statements",
    "xero_calls",
}


def run_script(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def last_json(out: str) -> dict[str, Any]:
    lines = out.strip().splitlines()
    assert lines, "no output"
    assert all(line.startswith("# ") for line in lines[:-1]), lines[:-1]
    figures = json.loads(lines[-1])
    assert isinstance(figures, dict)
    return figures


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_bench_scale_prints_its_figures_as_the_last_json_line(database: str) -> None:
    extra: list[str] = []
    if database == "postgres":
        require_service("PostgreSQL", POSTGRES_URL, 5432)
        extra = ["--database-url", POSTGRES_URL]
    run = run_script(
        "benchmarks/bench_scale.py",
        "--invoices",
        "300",
        "--big",
        "120",
        "--repeat",
        "1",
        "--no-save",
        *extra,
    )
    assert run.returncode == 0, run.stderr
    figures = last_json(run.stdout)
    assert set(figures) >= SCALE_KEYS
    assert figures["invoices"] == 300
    # 300 sales invoices and 6 customer credit notes: every one of them in the cache.
    assert figures["cached_documents"] == bench_common.cached_documents(300) == 306
    assert figures["cold_sync_calls"] >= figures["cold_sync_fewest_calls"] == 4
    assert figures["cold_sync_429s"] == 0
    assert figures["warm_view_calls"] == 0
    assert figures["unchanged_refresh_calls"] == 1
    assert figures["database"] == ("postgresql" if database == "postgres" else "sqlite")
    assert set(figures["panel_sql_statements"]) == {*bench_scale.VIEWS, "search"}


def test_bench_scale_fails_loudly_when_another_sync_holds_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What made the old bench_sync print ``0 (53)`` calls in 0.00 s: the first sync was
    already running, so the measured one did nothing. Now that is a failure, not a figure."""
    from xero_panel.state import get_state

    connect = bench_scale.connect

    def connect_while_a_sync_runs(app: Any, tokens: Any) -> int:
        org_id = connect(app, tokens)
        held = get_state(app).scheduler.locks.try_lock(f"full:{org_id}", 600)
        assert held is not None
        return org_id

    monkeypatch.setattr(bench_scale, "connect", connect_while_a_sync_runs)
    with pytest.raises(bench_common.BenchmarkFailed, match="another sync held the lock"):
        bench_scale.main(["--invoices", "50", "--big", "30", "--repeat", "1", "--no-save"])


def test_bench_scale_fails_loudly_when_the_cache_lacks_invoices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bench_scale, "cached_documents", lambda n: n + 100)
    with pytest.raises(bench_common.BenchmarkFailed, match="the cache holds 51 documents"):
        bench_scale.main(["--invoices", "50", "--big", "30", "--repeat", "1", "--no-save"])


def schema_exists(name: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            found = conn.scalar(
                sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"), {"n": name}
            )
            return bool(found)
    finally:
        engine.dispose()


@pytest.fixture
def kept_name() -> Iterator[str]:
    """A schema name for ``--keep-schema``; the schema is dropped after the test."""
    import uuid

    import sqlalchemy as sa

    require_service("PostgreSQL", POSTGRES_URL, 5432)
    name = f"xp_bench_kept_{uuid.uuid4().hex[:8]}"
    yield name
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


SMALL = ["--invoices", "50", "--big", "30", "--repeat", "2", "--no-save"]


@pytest.mark.postgres
def test_a_kept_schema_is_timed_again_without_emulator_or_sync(
    kept_name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import xero_panel

    database = ["--database-url", POSTGRES_URL]
    # The loading run in a process of its own, as the lead runs it; the reuse runs in this one.
    run = run_script("benchmarks/bench_scale.py", *SMALL, *database, "--keep-schema", kept_name)
    assert run.returncode == 0, run.stderr
    kept = last_json(run.stdout)
    assert kept["cached_documents"] == 51
    assert schema_exists(kept_name)

    def no_emulator(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a reuse run started the emulator")

    monkeypatch.setattr(bench_scale, "EmulatorProcess", no_emulator)
    bench_scale.main([*SMALL, *database, "--reuse-schema", kept_name])
    out = capsys.readouterr().out
    figures = last_json(out)
    plugin = str(Path(xero_panel.__file__).resolve().parent)
    assert f"# plugin imported: {plugin}" in out
    assert figures["plugin"] == plugin
    assert figures["reused_schema"] == kept_name
    assert figures["cached_documents"] == 51
    assert figures["warm_view_calls"] == 0
    assert figures["panel_sql_statements"] == kept["panel_sql_statements"]
    assert set(figures["panel_view_p95_ms"]) == {*bench_scale.VIEWS, "search"}
    assert figures["panel_p95_ms"] >= figures["panel_p50_ms"] > 0
    # the account's state (connection, organisations, sync state), record link, contact,
    # summary, page: one plan each (bench_scale renders, the fragment cache off).
    assert len(figures["all_view_explain_ms"]) == 5
    assert not {"cold_sync_calls", "unchanged_refresh_calls"} & set(figures)
    assert schema_exists(kept_name), "a reuse run dropped the schema it reused"

    with pytest.raises(bench_common.BenchmarkFailed, match="holds 50 invoices' books, not"):
        bench_scale.main([*SMALL[2:], "--invoices", "60", *database, "--reuse-schema", kept_name])
    monkeypatch.setattr(bench_scale, "cached_documents", lambda n: n + 100)
    with pytest.raises(bench_common.BenchmarkFailed, match="cache holds 51 documents, not 150"):
        bench_scale.main([*SMALL, *database, "--reuse-schema", kept_name])
    assert schema_exists(kept_name)


@pytest.mark.postgres
def test_reuse_fails_loudly_without_a_kept_schema(kept_name: str) -> None:
    database = ["--database-url", POSTGRES_URL]
    with pytest.raises(bench_common.BenchmarkFailed, match="there is no schema"):
        bench_scale.main([*SMALL, *database, "--reuse-schema", kept_name])
    assert not schema_exists(kept_name), "a failed reuse run created the schema"


@pytest.mark.postgres
def test_a_kept_run_that_fails_leaves_no_schema(
    kept_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_scale, "cached_documents", lambda n: n + 100)
    with pytest.raises(bench_common.BenchmarkFailed, match="the cache holds 51 documents"):
        bench_scale.main([*SMALL, "--database-url", POSTGRES_URL, "--keep-schema", kept_name])
    assert not schema_exists(kept_name)


@pytest.mark.parametrize(
    "argv",
    [
        ["--keep-schema", "kept"],  # no PostgreSQL
        ["--reuse-schema", "kept"],
        ["--database-url", "postgresql://x/y", "--keep-schema", 'x"; DROP'],
        ["--database-url", "postgresql://x/y", "--keep-schema", "1st"],
        ["--database-url", "postgresql://x/y", "--keep-schema", "a", "--reuse-schema", "a"],
        ["--database-url", "postgresql://x/y", "--reuse-schema", "a", "--latency-ms", "5"],
        ["--tag", "../x"],
    ],
)
def test_bench_scale_refuses_bad_schema_options(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench_scale.parse(argv)
    assert exited.value.code == 2


def test_a_failed_benchmark_exits_1_with_its_reason_and_no_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fails() -> None:
        bench_common.check(False, "the cache is empty")

    with pytest.raises(SystemExit) as exited:
        bench_common.run_main(fails)
    assert exited.value.code == 1
    out = capsys.readouterr()
    assert "BENCHMARK FAILED: the cache is empty" in out.err
    assert out.out == ""


def test_results_are_written_with_machine_versions_and_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(bench_common, "RESULTS", tmp_path)
    monkeypatch.setattr(bench_common, "ROOT", tmp_path.parent)
    bench_common.finish("bench_x-10", {"a": 1}, "sqlite")
    record = json.loads((tmp_path / "bench_x-10.json").read_text())
    assert record["figures"] == {"a": 1}
    assert record["database"] == "sqlite"
    assert record["machine"]["cpus"] and record["machine"]["python"]
    assert record["versions"]["xero-panel"] and record["versions"]["SQLAlchemy"]
    assert record["date"].endswith("Z")
    assert capsys.readouterr().out.strip().splitlines()[-1] == '{"a": 1}'


def test_fewest_calls_count_every_page_of_the_generated_books() -> None:
    # Organisation, 1 page of 4 contacts, 1 of 300 invoices, 1 of 6 credit notes.
    assert bench_common.fewest_calls(300) == 4
    # 1,001 contacts, 100 pages of invoices, 2,000 credit notes.
    assert bench_common.fewest_calls(100_000) == 1 + 2 + 100 + 2
    assert bench_common.fewest_calls(1_000_000) == 1 + 11 + 1000 + 20


def test_bench_scale_needs_large_for_more_than_100k() -> None:
    with pytest.raises(SystemExit):
        bench_scale.parse(["--invoices", "1000000"])
    assert bench_scale.parse(["--invoices", "1000000", "--large"]).large


def test_bench_sync_prints_json_last(tmp_path: Path) -> None:
    run = run_script("benchmarks/bench_sync.py", "--sizes", "200", "--no-save")
    assert run.returncode == 0, run.stderr
    figures = last_json(run.stdout)
    (size,) = figures["sizes"]
    assert size["n"] == 200
    assert size["cold_calls"] <= size["cold_limit"]
    assert size["warm_calls"] == 0 and size["refresh_calls"] == 1
    assert size["reconcile_calls"] >= 3 and size["reconcile_statements"] > 0
    assert size["reconcile_chunked_calls"] == size["reconcile_calls"]
    assert size["reconcile_chunks"] >= size["reconcile_calls"] // 2


def test_bench_webhook_ingest_prints_json_last() -> None:
    run = run_script(
        "benchmarks/bench_webhook_ingest.py", "--events", "300", "--repeat", "2", "--no-save"
    )
    assert run.returncode == 0, run.stderr
    figures = last_json(run.stdout)
    assert figures["events"] == 300 and figures["events_stored"] == 2 * 300 + 2 * 150
    assert figures["concurrent_s"]["statuses"] == [200, 200]
    assert set(figures["one_delivery_s"]) == {"median", "max", "target"}


def _stub_wrk(tmp_path: Path, non2xx: int) -> Path:
    """A stand-in for wrk that reports a run like wrk's ``done`` hook would."""
    report = {
        "requests": 400,
        "duration_us": 2_000_000,
        "errors": 0,
        "non2xx": non2xx,
        "p50_us": 3000,
        "p95_us": 6000,
        "p99_us": 9000,
    }
    script = tmp_path / "wrk"
    script.write_text(f"#!/bin/sh\necho 'WRKJSON {json.dumps(report)}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def run_bench_panel(tmp_path: Path, *more: str, non2xx: int) -> subprocess.CompletedProcess[str]:
    """bench_panel.py on a small tenant for a second, its wrk a stub reporting ``non2xx``
    error answers."""
    return run_script(
        "benchmarks/bench_panel.py",
        *more,
        "--invoices",
        "80",
        "--customer-invoices",
        "40",
        "--duration",
        "1",
        "--no-save",
        "--wrk",
        str(_stub_wrk(tmp_path, non2xx=non2xx)),
    )


def test_bench_panel_runs_both_pages_under_gunicorn_and_prints_json(tmp_path: Path) -> None:
    run = run_bench_panel(tmp_path, non2xx=0)
    assert run.returncode == 0, run.stderr
    figures = last_json(run.stdout)
    assert set(figures) >= PANEL_KEYS
    assert figures["panel_rps"] == figures["reference_rps"] == 200.0
    assert figures["ratio"] == 1.0
    assert (figures["p50_ms"], figures["p95_ms"], figures["p99_ms"]) == (3.0, 6.0, 9.0)
    assert figures["xero_calls"] == 0
    assert figures["sql_statements"] > 0
    assert figures["body_bytes"] > figures["reference_body_bytes"] > 0


def test_bench_panel_measures_each_mode_of_the_fragment_cache(tmp_path: Path) -> None:
    run = run_bench_panel(tmp_path, "--modes", "on,miss,off", non2xx=0)
    assert run.returncode == 0, run.stderr
    figures = last_json(run.stdout)
    assert set(figures["modes"]) == {"on", "miss", "off"}
    assert all(m["ratio"] == 1.0 and m["xero_calls"] == 0 for m in figures["modes"].values())
    assert run.stdout.count("gunicorn --workers") == 3
    assert "fragment cache miss" in run.stdout


def test_bench_panel_fails_loudly_on_error_answers(tmp_path: Path) -> None:
    run = run_bench_panel(tmp_path, non2xx=3)
    assert run.returncode == 1
    assert "BENCHMARK FAILED: 3 answers" in run.stderr
    assert not run.stdout.strip().splitlines()[-1].startswith("{")


FLEET_KEYS = {
    "orgs",
    "app_limit_per_minute",
    "calls_peak_per_minute",
    "calls_peak_vs_app_limit",
    "rate_limited_by_problem",
    "largest_org_share",
    "changes_verified",
    "phases",
}


@pytest.mark.redis
@pytest.mark.timeout(240)
def test_bench_fleet_quick_prints_its_figures_as_the_last_json_line() -> None:
    from tests.conftest import REDIS_URL

    require_service("Redis", REDIS_URL, 6379)
    run = run_script("benchmarks/bench_fleet.py", "--quick", "--no-save", timeout=200)
    assert run.returncode == 0, run.stderr
    figures = last_json(run.stdout)
    assert set(figures) >= FLEET_KEYS
    assert figures["orgs"] == 6
    # The three ways of queueing the fetches, side by side, per worker count.
    assert set(figures["phases"]) == {
        f"{fetch} {workers}"
        for fetch in ("per-event", "per-delivery", "per-org")
        for workers in (1, 2)
    }
    assert figures["changes_verified"] > 0
    assert figures["calls_peak_per_minute"] > 0
    for phase in figures["phases"].values():
        assert phase["events"] > 0 and phase["burst_events"] == 20
        assert phase["events_per_s"] > 0 and phase["webhook_p95_s"] >= phase["webhook_p50_s"]


def test_bench_fleet_fails_loudly_when_the_cache_lacks_a_change(tmp_path: Path) -> None:
    import fleet_cache

    tenant = "11111111-1111-1111-1111-111111111111"
    book = {"tenantId": tenant, "tenantName": "Org 0", "Contacts": [], "Invoices": []}
    engine = fleet_cache.setup_cache(f"sqlite:///{tmp_path}/fleet.sqlite", {"tenants": [book]})
    expected = {(tenant, "22222222-2222-2222-2222-222222222222"): "w1-0"}
    with pytest.raises(bench_common.BenchmarkFailed, match="does not hold 1 of the 1 changes"):
        fleet_cache.verify_cache(engine, expected)


def _profiled_root(n: int) -> None:
    for _ in range(n):
        _profiled_child()


def _profiled_child() -> None:
    sum(range(100_000))


def test_fleet_profile_splits_a_jobs_time_per_call(tmp_path: Path) -> None:
    import cProfile

    import fleet_profile

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(4):
        _profiled_root(3)
    profile.disable()
    profile.dump_stats(tmp_path / "worker-1.prof")
    figures = fleet_profile.summary(
        [str(tmp_path / "worker-1.prof")], "_profiled_root", ["_profiled_child"]
    )
    assert figures["calls"] == 4
    assert 0 < figures["ms_each_in"]["_profiled_child"] <= figures["ms_each"]
    assert figures["per_call"] == {
        "commits": 0,
        "http_calls": 0,
        "redis_commands": 0,
        "statements": 0,
    }


@pytest.mark.redis
def test_bench_fleet_ends_at_a_failed_job_with_its_traceback_and_the_workers_logs(
    tmp_path: Path, redis_client: Any, redis_prefix: str
) -> None:
    """A worker's job that raises ends the driver's wait at once, not at its timeout."""
    import fleet_watch
    from rq import Queue, SimpleWorker

    queue = Queue(f"{redis_prefix}-high", connection=redis_client)
    log = tmp_path / "worker-0.log"
    log.write_text("worker started\n")
    try:
        queue.enqueue("math.sqrt", -1)
        SimpleWorker([queue], connection=redis_client).work(burst=True)
        watch = fleet_watch.Watch({"high": queue}, [], [log])
        assert not watch.pending()
        with pytest.raises(bench_common.BenchmarkFailed) as failed:
            fleet_watch.drain(redis_client, watch, f"{redis_prefix}:", 1, timeout=600)
        assert "1 job(s) failed" in str(failed.value)
        assert "math domain error" in str(failed.value)
        assert "--- worker-0.log ---\nworker started" in str(failed.value)
    finally:
        for key in redis_client.scan_iter(f"rq:*{redis_prefix}*"):
            redis_client.delete(key)
