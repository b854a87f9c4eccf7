"""A bounded load run: 100 concurrent clients for 60 s on loopback against gunicorn (several
workers) on PostgreSQL and Redis, with an RQ worker doing the background sync and the Xero
emulator behind it. Every client asks for the same record's panel while its cache goes stale
every ``--ttl`` seconds and Xero keeps changing; the run passes with 0 errors (every answer
200, no socket error) and Xero calls within the budget (single flight: at most one refresh
per TTL across all workers, and never over Xero's 60 calls a minute).

Needs ``wrk`` (Debian's package: ``apt-get install wrk``), gunicorn (a dev dependency),
PostgreSQL and Redis. Run from the repository root::

    .venv/bin/python benchmarks/load_run.py
    .venv/bin/python benchmarks/load_run.py --duration 60 --clients 100 --workers 4 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --redis-url redis://127.0.0.1:6379/4

It writes its result to ``benchmarks/LOAD_RUN.md`` (``--write-result``) and exits non-zero
when the run has errors or goes over the budget. Everything it makes (a PostgreSQL schema of
its own, Redis keys under a prefix of its own) is removed at the end.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

PANEL = "/integrations/xero/panel/account/1"
LOGIN = "/_load/login"
RESULT = ROOT / "benchmarks" / "LOAD_RUN.md"
XERO_PER_MINUTE = 60


def app() -> Any:
    """The host app gunicorn and the RQ worker run (configured by ``XP_LOAD_*``): the tests'
    little CRM plus a route that signs the load's client in as the sales rep."""
    return _build().app


def _build() -> Any:
    from flask_login import login_user

    from tests.conftest import USERS, build_host_from_env

    env = os.environ
    host = build_host_from_env(
        "XP_LOAD",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        XERO_PANEL_RQ_QUEUE=env["XP_LOAD_PREFIX"] + "jobs",
        XERO_PANEL_CACHE_TTL=float(env["XP_LOAD_TTL"]),
        TESTING=False,
    )

    @host.app.get(LOGIN)
    def load_login() -> str:
        login_user(USERS["rep-acme"])
        return "signed in"

    return host


def _schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def _wait_http(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer")
        time.sleep(0.2)


def _parse_wrk(output: str) -> dict[str, Any]:
    requests_line = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return {
        "requests": int(requests_line.group(1)) if requests_line else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "latency": latency,
        "rps": float(rps.group(1)) if rps else 0.0,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import redis
    import requests
    import sqlalchemy as sa
    from cryptography.fernet import Fernet
    from xero_emulator import Emulator

    from tests._sync_support import OWNER, generated_seed
    from xero_panel.models import Connection, RecordLink, SyncState
    from xero_panel.state import get_state

    schema = f"xp_load_{uuid.uuid4().hex[:10]}"
    prefix = f"xp-load-{uuid.uuid4().hex[:8]}:"
    admin = sa.create_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db_url = _schema_url(args.database_url, schema)
    seed = generated_seed(args.invoices, n_contacts=40)
    tenant_id = seed["tenants"][0]["tenantId"]
    emulator = Emulator(seed, control_enabled=True)
    server = emulator.serve()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
        "XP_LOAD_KEY": os.environ.get("XP_LOAD_KEY") or Fernet.generate_key().decode(),
        "XP_LOAD_DB": db_url,
        "XP_LOAD_EMULATOR": server.url,
        "XP_LOAD_REDIS": args.redis_url,
        "XP_LOAD_PREFIX": prefix,
        "XP_LOAD_TTL": str(args.ttl),
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("XP_LOAD_")})
    processes: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    try:
        # The cache, filled before the run (the first sync is another benchmark).
        host = _build()
        flask_app, db = host.app, host.db
        with flask_app.app_context():
            state = get_state()
            stored = host.panel.store_connection(
                "acme", emulator.issue_tokens(user_email=OWNER), activate=False
            )
            stored.status = "active"
            db.session.commit()
            org_id = stored.organisations[0].id
            contact = seed["tenants"][0]["Contacts"][0]["ContactID"].lower()
            db.session.add(
                RecordLink(
                    crm_account="acme",
                    record_type="account",
                    record_id="1",
                    organisation_id=org_id,
                    contact_id=contact,
                )
            )
            db.session.commit()
            counts = state.scheduler.run_full_sync(org_id)
            assert db.session.get(Connection, stored.id) is not None
        print(f"cache filled: {counts}", flush=True)

        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "load_run:app", "xero-panel", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(worker)
        port = _free_port()
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "load_run:app()",
            ],
            cwd=ROOT,
            env=env,
        )
        processes.append(gunicorn)
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + LOGIN)
        session = requests.Session()
        session.get(base + LOGIN, timeout=5).raise_for_status()
        cookie = session.cookies.get("session")
        check = session.get(base + PANEL, timeout=10)
        rows = check.text.count('data-testid="invoice-row"')
        if check.status_code != 200 or rows == 0:
            raise RuntimeError(f"the panel answered {check.status_code} with {rows} rows")

        def xero_changes() -> None:
            """A payment in Xero every few seconds, as a business would make them."""
            invoices = [
                i
                for i in seed["tenants"][0]["Invoices"]
                if i["Type"] == "ACCREC" and i["Status"] == "AUTHORISED" and not i["Payments"]
            ]
            n = 0
            while not stop.wait(args.change_every):
                invoice = invoices[n % len(invoices)]
                emulator.add_payment(tenant_id, invoice["InvoiceID"], {"Amount": 0.01})
                n += 1

        emulator.reset_stats()
        changer = threading.Thread(target=xero_changes, daemon=True)
        changer.start()
        started = time.monotonic()
        wrk_path = shutil.which("wrk")
        if wrk_path is None:
            raise RuntimeError("wrk is missing: apt-get install wrk")
        wrk = subprocess.run(
            [
                wrk_path,
                "--threads",
                str(min(args.clients, 4)),
                "--connections",
                str(args.clients),
                "--duration",
                f"{args.duration}s",
                "--timeout",
                "10s",
                "--latency",
                "--header",
                f"Cookie: session={cookie}",
                "--header",
                "HX-Request: true",
                base + PANEL,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        elapsed = time.monotonic() - started
        stop.set()
        result = _parse_wrk(wrk.stdout)
        stats = emulator.stats()["tenants"].get(tenant_id, {"calls": 0, "by_endpoint": {}})
        with flask_app.app_context():
            sync_state = db.session.get(SyncState, org_id)
            last_error = sync_state.last_error if sync_state else "no sync state"
        result.update(
            {
                "wrk": wrk.stdout,
                "seconds": round(elapsed, 1),
                "xero_calls": stats["calls"],
                "xero_by_endpoint": stats.get("by_endpoint", {}),
                "xero_rate_limited": stats.get("rate_limited", 0),
                "last_error": last_error,
                # One refresh per TTL (plus the one at the start), and Xero's own limit.
                "budget": min(
                    math.ceil(args.duration / args.ttl) + 1,
                    math.ceil(XERO_PER_MINUTE * args.duration / 60),
                ),
                "args": vars(args),
            }
        )
        return result
    finally:
        stop.set()
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        server.shutdown()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        for key in client.scan_iter(f"rq:*{prefix}*"):
            client.delete(key)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def report(result: dict[str, Any]) -> str:
    args = result["args"]
    ok = result["non_2xx"] == 0 and result["socket_errors"] == 0
    within = (
        0 < result["xero_calls"] <= result["budget"]
        and result["xero_rate_limited"] == 0
        and result["last_error"] is None
    )
    lines = [
        "# Load run (benchmarks/load_run.py)",
        "",
        "```sh",
        f".venv/bin/python benchmarks/load_run.py --duration {args['duration']}"
        f" --clients {args['clients']} --workers {args['workers']} --threads {args['threads']}"
        f" --ttl {args['ttl']} --write-result",
        "```",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), Python"
        f" {platform.python_version()}; PostgreSQL and Redis on loopback; gunicorn"
        f" {args['workers']} workers x {args['threads']} threads, one RQ worker;"
        f" {args['invoices']} invoices cached; a payment in Xero every {args['change_every']} s;"
        f" XERO_PANEL_CACHE_TTL={args['ttl']}.",
        "",
        "| what | measured |",
        "|---|---|",
        f"| requests (wrk, {args['clients']} connections, {args['duration']} s) |"
        f" {result['requests']} ({result['rps']:.1f}/s) |",
        f"| errors (non-2xx + socket errors) | {result['non_2xx'] + result['socket_errors']} |",
        "| latency p50 / p90 / p99 | "
        + " / ".join(result["latency"].get(p, "?") for p in ("50", "90", "99"))
        + " |",
        f"| Xero calls (emulator's count) | {result['xero_calls']} {result['xero_by_endpoint']} |",
        f"| Xero call budget (one refresh per TTL, at most 60 a minute) | {result['budget']} |",
        f"| 429s from Xero | {result['xero_rate_limited']} |",
        f"| sync problem at the end | {result['last_error'] or 'none'} |",
        f"| verdict | {'PASS' if ok and within else 'FAIL'} |",
        "",
        "wrk's output:",
        "",
        "```text",
        result["wrk"].rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--ttl", type=float, default=5.0)
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--change-every", type=float, default=3.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "XP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("XP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--write-result", action="store_true", help=f"write {RESULT.name}")
    args = parser.parse_args(argv)
    result = run(args)
    text = report(result)
    print(text)
    if args.write_result:
        RESULT.write_text(text)
    passed = (
        result["non_2xx"] == 0
        and result["socket_errors"] == 0
        and result["requests"] > 0
        and result["xero_calls"] <= result["budget"]
        and result["xero_rate_limited"] == 0
        and result["xero_calls"] > 0  # the cache did go stale and was refreshed
        and result["last_error"] is None
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
