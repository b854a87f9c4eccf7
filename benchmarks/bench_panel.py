"""Panel throughput: the panel partial against an ordinary host page, same server, one run.

Run from the repository root (needs ``wrk``: ``sudo apt-get install wrk``)::

    .venv/bin/python benchmarks/bench_panel.py                       # SQLite, 1,000 invoices
    .venv/bin/python benchmarks/bench_panel.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Both pages run in the same gunicorn (``--workers`` sync workers) on 127.0.0.1, loaded by
``wrk -t2 -c20 -d8s`` one after the other:

- the panel partial of a signed-in rep, warm cache, the *All* view's first page (25 rows) for
  a customer with about 130 invoices, a third of them with payments;
- the reference: the same signed-in user (loaded from the database) and the same customer's
  25 newest invoices with their payments, from the same tables, through a compiled Jinja
  template (``bench_host.py``).

``--modes on,miss,off`` measures the fragment cache's three cases in one run, each under
its own gunicorn with its own reference page: ``on`` (as shipped: warm views are served
from the cache), ``miss`` (the cache on, but no lookup finds a panel: every view works out
its key, renders and keeps its panel, as the first view after a change does) and ``off``
(``XERO_PANEL_FRAGMENT_CACHE`` off: every view renders, as before the cache). The figures
of the first mode are the top-level ones; ``modes`` holds each mode's.

``--interleaved 500`` also times, in this process and one request at a time, the reference
page and the panel on, missing and off (an app each over the same data), taken in turn 500
times, so that a busy machine weighs on all four alike: each one's median and 90th
percentile (``interleaved``), and each mode's speed as the reference's median over its own.

``sql_statements`` is the number of the plugin's statements (those touching its
``xero_panel_`` tables) for one panel request; ``xero_calls`` the Xero calls made during the
whole load (a warm panel makes none). Fails (exit 1) unless the cache holds the invoices, the
panel shows 25 rows, every answer was a 200 and no Xero call was made.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_common import (  # noqa: E402
    ROOT,
    EmulatorProcess,
    SQLCounter,
    big_customer_name,
    cached_documents,
    check,
    database_label,
    finish,
    progress,
    run_main,
)
from bench_host import PANEL_PATH, REFERENCE_PATH, USER_ID, connect, create_app  # noqa: E402
from bench_scale import Schema, cache_count, sent  # noqa: E402

_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, \\"non2xx\\": %d, " ..
    "\\"p50_us\\": %d, \\"p95_us\\": %d, \\"p99_us\\": %d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
PAGE_ROWS = 25


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wrk(url: str, cookie: str, args: argparse.Namespace, script: Path) -> dict[str, Any]:
    """One wrk run; its figures, checked (no socket error, every answer a 2xx)."""
    import json

    command = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        "-H",
        f"Cookie: {cookie}",
        url,
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60)
    check(run.returncode == 0, f"wrk failed: {run.stderr.strip()}")
    line = next((x for x in run.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    check(line is not None, f"wrk printed no report: {run.stdout}")
    out = json.loads(line.removeprefix("WRKJSON ")) if line else {}
    check(out["requests"] > 0, f"wrk made no request to {url}")
    check(out["errors"] == 0, f"{out['errors']} socket errors on {url}")
    check(out["non2xx"] == 0, f"{out['non2xx']} answers on {url} were not 2xx")
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6)
    return out


def numbers(body: str) -> set[str]:
    """The invoice and credit note numbers a page shows."""
    return set(re.findall(r"(?:INV-\d{7}|CN-\d{6})\b", body))


def count_rows(body: str) -> int:
    """How many invoices and credit notes a page shows."""
    return len(numbers(body))


def bench(args: argparse.Namespace) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    os.environ["BENCH_FRAGMENT_CACHE"] = args.modes[0]
    progress(f"emulator with {args.invoices:,} invoices, {args.customer_invoices} for the customer")
    emulator = EmulatorProcess(
        args.invoices, big=args.customer_invoices, per_customer=args.customer_invoices
    )
    schema = Schema(args.database_url)
    server: subprocess.Popen[bytes] | None = None
    try:
        app = create_app(schema.url, emulator.url, customer=big_customer_name(), encryption_key=key)
        org_id = connect(app, emulator.issue_tokens())
        from xero_panel.state import get_state

        with app.app_context():
            result = get_state(app).scheduler.run_full_sync(org_id)
        held = cache_count(app, org_id)
        check(bool(result), "run_full_sync returned nothing: another sync held the lock")
        check(held == cached_documents(args.invoices), f"the cache holds {held} documents")
        db = app.extensions["bench_db"]
        with app.app_context():
            counter = SQLCounter(db.engine)
        client = app.test_client()
        client.get(f"/login/{USER_ID}")
        panel_url = f"{PANEL_PATH}?view=all"
        client.get(panel_url)  # the first request builds what is built once per process
        with counter.counting() as statements:
            response = client.get(panel_url)
        body = response.get_data()
        check(response.status_code == 200, f"the panel answered {response.status_code}")
        rows = count_rows(body.decode())
        check(rows == PAGE_ROWS, f"the panel shows {rows} invoices, not {PAGE_ROWS}")
        reference = client.get(REFERENCE_PATH).get_data(as_text=True)
        check(
            numbers(reference) == numbers(body.decode()),
            "the reference page does not show the panel's 25 rows",
        )
        sql_statements = len(statements)
        side_by_side = (
            interleaved(args, schema.url, emulator.url, key, panel_url) if args.interleaved else {}
        )
        with app.app_context():
            db.engine.dispose()

        measured = {}
        for mode in args.modes:
            server = start_server(args, mode, schema.url, emulator.url, key)
            try:
                measured[mode] = measure(args, server, panel_url, app, emulator)
            finally:
                stop_server(server)
                server = None
        first = measured[args.modes[0]]
        figures: dict[str, Any] = {
            "invoices": args.invoices,
            "customer_invoices": args.customer_invoices,
            "database": database_label(schema.url),
            "workers": args.workers,
            "load": f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s",
            **first,
            "body_bytes": len(body),
            "reference_body_bytes": len(reference.encode()),
            "sql_statements": sql_statements,
            "fragment_cache": args.modes[0] != "off",
        }
        if len(args.modes) > 1:
            figures["modes"] = measured
        if side_by_side:
            figures["interleaved"] = side_by_side
        return figures
    finally:
        if server is not None:
            stop_server(server)
        emulator.stop()
        schema.drop()


def interleaved(
    args: argparse.Namespace, database_url: str, emulator_url: str, key: str, panel_url: str
) -> dict[str, Any]:
    """One request at a time, in this process: the reference page and the panel with the
    fragment cache on, missing and off (an app each, over the same data), taken in turn
    ``--interleaved`` times, so that the machine's load weighs on all four alike. Each
    one's median and 90th percentile in ms, and the panel's as a share of the reference's
    median."""
    import statistics

    previous = os.environ.get("BENCH_FRAGMENT_CACHE")
    clients: dict[str, tuple[Any, str]] = {}
    apps = []
    try:
        for mode in ("on", "miss", "off"):
            os.environ["BENCH_FRAGMENT_CACHE"] = mode
            app = create_app(
                database_url, emulator_url, customer=big_customer_name(), encryption_key=key
            )
            apps.append(app)
            client = app.test_client()
            client.get(f"/login/{USER_ID}")
            clients[mode] = (client, panel_url)
        clients["reference"] = (clients["off"][0], REFERENCE_PATH)
        progress(f"interleaved: {args.interleaved} rounds of reference, on, miss, off")
        times: dict[str, list[float]] = {name: [] for name in clients}
        names = list(clients)
        for n in range(args.interleaved + 20):  # the first 20 rounds warm up
            for name in names[n % 4 :] + names[: n % 4]:
                client, path = clients[name]
                started = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                check(response.status_code == 200, f"{name} answered {response.status_code}")
                if n >= 20:
                    times[name].append(elapsed)
        medians = {name: statistics.median(t) for name, t in times.items()}
        return {
            "rounds": args.interleaved,
            **{
                f"{name}_ms": {
                    "median": round(medians[name], 3),
                    "p90": round(statistics.quantiles(t, n=10)[-1], 3),
                }
                for name, t in times.items()
            },
            **{
                f"{mode}_speed": round(medians["reference"] / medians[mode], 3)
                for mode in ("on", "miss", "off")
            },
        }
    finally:
        for app in apps:
            with app.app_context():
                app.extensions["bench_db"].engine.dispose()
        if previous is None:
            os.environ.pop("BENCH_FRAGMENT_CACHE", None)
        else:
            os.environ["BENCH_FRAGMENT_CACHE"] = previous


def start_server(
    args: argparse.Namespace, mode: str, database_url: str, emulator_url: str, key: str
) -> subprocess.Popen[bytes]:
    """The bench host under gunicorn with the fragment cache ``mode`` (on, miss, off)."""
    port = free_port()
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": database_url,
        "BENCH_EMULATOR_URL": emulator_url,
        "BENCH_ENCRYPTION_KEY": key,
        "BENCH_CUSTOMER": big_customer_name(),
        "BENCH_FRAGMENT_CACHE": mode,
    }
    gunicorn = [
        args.gunicorn,
        "--workers",
        str(args.workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        str(HERE),
        "--log-level",
        "warning",
        "--timeout",
        "120",
        "bench_host:create_app()",
    ]
    progress(" ".join(gunicorn[:5]) + f" ... ({args.workers} sync workers, fragment cache {mode})")
    server = subprocess.Popen(gunicorn, env=env, cwd=ROOT)
    server.base_url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    return server


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def measure(
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
    panel_url: str,
    app: Any,
    emulator: EmulatorProcess,
) -> dict[str, Any]:
    """The reference page, then the panel, under wrk; their figures, checked."""
    import requests

    base = server.base_url  # type: ignore[attr-defined]
    cookie = sign_in(base)
    served = requests.get(base + panel_url, headers={"Cookie": cookie}, timeout=60)
    check(
        served.status_code == 200 and count_rows(served.text) == PAGE_ROWS,
        "the panel under gunicorn is not the 25-row page",
    )
    emulator.reset_stats()
    before = sent(app, emulator.tenant_id)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "report.lua"
        script.write_text(_REPORT)
        progress(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s reference")
        ref = wrk(base + REFERENCE_PATH, cookie, args, script)
        progress(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s panel")
        pan = wrk(base + panel_url, cookie, args, script)
    xero_calls = emulator.tenant_stats()["calls"]
    check(sent(app, emulator.tenant_id) == before, "this process made Xero calls")
    check(xero_calls == 0, f"the warm panel made {xero_calls} Xero calls under load")
    return {
        "panel_rps": round(pan["rps"], 1),
        "reference_rps": round(ref["rps"], 1),
        "ratio": round(pan["rps"] / ref["rps"], 3),
        "p50_ms": round(pan["p50_us"] / 1000, 2),
        "p95_ms": round(pan["p95_us"] / 1000, 2),
        "p99_ms": round(pan["p99_us"] / 1000, 2),
        "reference_p99_ms": round(ref["p99_us"] / 1000, 2),
        "xero_calls": xero_calls,
    }


def sign_in(base: str) -> str:
    """Wait (bounded) for gunicorn, sign in; the session cookie as a Cookie header value."""
    import requests

    deadline = time.monotonic() + 60
    while True:
        try:
            response = requests.get(f"{base}/login/{USER_ID}", allow_redirects=False, timeout=30)
            break
        except (requests.ConnectionError, requests.Timeout):
            check(time.monotonic() < deadline, "gunicorn did not start within 60 s")
            time.sleep(0.2)
    check(response.status_code == 302, f"sign-in answered {response.status_code}")
    return "; ".join(f"{k}={v}" for k, v in response.cookies.items())


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a SQLite temp file")
    parser.add_argument("--invoices", type=int, default=1000, help="invoices in the tenant")
    parser.add_argument("--customer-invoices", type=int, default=130)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--duration", type=int, default=8, help="seconds per page")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--gunicorn", default=str(Path(sys.executable).parent / "gunicorn"))
    parser.add_argument("--no-save", dest="save", action="store_false")
    parser.add_argument(
        "--no-fragment-cache",
        dest="modes",
        action="store_const",
        const=["off"],
        help="render every panel (XERO_PANEL_FRAGMENT_CACHE off), as before issue 25",
    )
    parser.add_argument(
        "--modes",
        type=lambda text: text.split(","),
        help="fragment cache modes to measure in this run, each under its own gunicorn with"
        " its own reference: on (served from the cache), miss (the cache on, every lookup"
        " missing: a view after a change), off (as before issue 25); e.g. on,miss,off",
    )
    parser.add_argument(
        "--interleaved",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="also time the reference and the panel on, missing and off one request at a"
        " time in this process, taken in turn ROUNDS times (e.g. 500)",
    )
    parser.set_defaults(modes=["on"])  # for both options of this dest
    args = parser.parse_args(argv)
    if not args.modes or any(m not in ("on", "miss", "off") for m in args.modes):
        parser.error("--modes takes on, miss and off, separated by commas")
    if not 1 <= args.duration <= 120:
        parser.error("--duration must be 1..120 seconds")
    if args.customer_invoices < PAGE_ROWS or args.invoices < args.customer_invoices:
        parser.error(f"the customer needs at least {PAGE_ROWS} of the tenant's invoices")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    figures = bench(args)
    label = "postgresql" if args.database_url else "sqlite"
    if args.modes == ["off"]:
        label += "-no-fragment-cache"
    elif args.modes != ["on"]:
        label += "-" + "-".join(args.modes)
    finish(
        f"bench_panel-{args.invoices}-{label}",
        figures,
        args.database_url or "sqlite",
        save=args.save,
    )


if __name__ == "__main__":
    run_main(main)
