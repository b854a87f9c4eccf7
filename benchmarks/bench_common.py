"""What the benchmarks share: their output convention, a generated tenant of any size, an
emulator in a process of its own, and a counter of the plugin's SQL statements.

Every benchmark prints progress lines, then, as its LAST line, one JSON object of its figures,
and writes the same figures to ``benchmarks/results/<name>-<size>-<database>.json`` with the
machine, the versions and the date. When a benchmark cannot show that it measured what it
claims (the cache does not hold the N invoices after the cold sync, a panel answer is not the
panel, ...), it raises :class:`BenchmarkFailed` and exits with status 1: no figures are written.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import multiprocessing
import os
import platform
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the generated books' records are built by the tests' parts
    sys.path.insert(0, str(ROOT))

from tests import _seed_parts as parts  # noqa: E402

OWNER = parts.OWNER

RESULTS = ROOT / "benchmarks" / "results"
#: The day the generated books end on (fixed, so every run generates the same books).
TODAY = dt.date(2026, 7, 1)


class BenchmarkFailed(RuntimeError):
    """The benchmark did not measure what it claims; the message says what was wrong."""


def progress(message: str) -> None:
    """One progress line (never the last line: that is the JSON)."""
    print(f"# {message}", flush=True)


def check(condition: bool, message: str) -> None:
    """Fail loudly unless ``condition``. :raises BenchmarkFailed:"""
    if not condition:
        raise BenchmarkFailed(message)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def database_label(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def environment(database_url: str) -> dict[str, Any]:
    """The machine, the versions and the date, recorded next to each result."""
    from importlib.metadata import version

    def safe_version(name: str) -> str | None:
        try:
            return version(name)
        except Exception:
            return None

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit or None,
        "machine": {
            "cpu": cpu,
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            # Other work on the machine skews the timings (not the counts): recorded.
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            name: safe_version(name)
            for name in ("xero-panel", "xero-emulator", "Flask", "SQLAlchemy", "gunicorn")
        },
        "database": database_label(database_url),
    }


def finish(name: str, figures: dict[str, Any], database_url: str, *, save: bool = True) -> None:
    """Write the figures (with the environment) to ``benchmarks/results/`` and print them
    as the last line."""
    if save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{name}.json"
        record = {"benchmark": name, **environment(database_url), "figures": figures}
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        progress(f"written {path.relative_to(ROOT)}")
    print(json.dumps(figures, sort_keys=True), flush=True)


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's main; a :class:`BenchmarkFailed` exits 1 with its message."""
    try:
        main()
    except BenchmarkFailed as exc:
        print(f"BENCHMARK FAILED: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


# -- a generated tenant ------------------------------------------------------------------------


def big_customer_name() -> str:
    return "Customer 000000 Ltd"


def books(
    n_invoices: int, *, big: int = 1000, per_customer: int = 100, seed: int = 11
) -> dict[str, Any]:
    """A one-tenant emulator seed of ``n_invoices`` sales invoices in about
    ``n_invoices / per_customer`` customers; customer 0 (:func:`big_customer_name`) has
    ``big`` of them (or all, when fewer). As in real books: 30% paid in full, 10% paid in
    part in two instalments, 3% voided, the rest unpaid (some overdue), one customer credit
    note per 50 invoices (the big customer's ``big / 50`` whatever ``n_invoices``), and a
    supplier with a few bills that must never enter the cache. The records are built by
    ``tests/_seed_parts.py``, as are the tests' generated seeds."""
    rng = random.Random(seed)
    tenant_id = parts.new_id(rng)
    n_customers = max(2, n_invoices // per_customer)
    contacts: list[dict[str, Any]] = []
    for i in range(n_customers):
        contacts.append(
            {
                "ContactID": parts.new_id(rng),
                "Name": f"Customer {i:06d} Ltd",
                "EmailAddress": f"accounts@customer{i}.test",
                "ContactStatus": "ACTIVE",
                "IsCustomer": True,
                "UpdatedDateUTC": parts.xero_ms(TODAY - dt.timedelta(days=500), i % 80_000),
            }
        )
    the_supplier = parts.supplier(rng, TODAY - dt.timedelta(days=500))
    big = min(big, n_invoices)
    invoices: list[dict[str, Any]] = []
    for i in range(n_invoices):
        owner = contacts[0] if i < big else contacts[1 + (i - big) % (n_customers - 1)]
        day = TODAY - dt.timedelta(days=rng.randrange(1, 720))
        total = rng.randrange(1_000, 1_000_000) / 100
        status, payments = parts.payments_and_status(
            rng, day, total, paid_after=14, part_paid_after=(7, 21), part=4
        )
        invoices.append(
            parts.sales_invoice(
                rng,
                f"INV-{i + 1:07d}",
                owner["ContactID"],
                day,
                status=status,
                total=total,
                payments=payments,
                updated_seconds=3600 + i % 50_000,
                reference=f"PO {i % 9973}",
            )
        )
    for i in range(5):
        invoices.append(
            parts.bill(rng, i, the_supplier["ContactID"], TODAY - dt.timedelta(days=10 + i))
        )
    notes = []
    big_notes = max(1, big // 50)  # the big customer's: as many at 10k invoices as at 1M
    for i in range(max(1, n_invoices // 50)):
        day = TODAY - dt.timedelta(days=rng.randrange(1, 300))
        owner = contacts[0] if i < big_notes else contacts[1 + i % (n_customers - 1)]
        notes.append(
            parts.credit_note(
                rng,
                "ACCRECCREDIT",
                f"CN-{i + 1:06d}",
                owner["ContactID"],
                day,
                total=25,
                updated_seconds=100 + i % 50_000,
            )
        )
    contacts.append(the_supplier)
    return parts.one_tenant_seed(tenant_id, contacts, invoices, notes)


def cached_documents(n_invoices: int) -> int:
    """How many rows :func:`books` puts in the plugin's invoice table: the sales invoices
    and the customer credit notes (bills never enter the cache)."""
    return n_invoices + max(1, n_invoices // 50)


def fewest_calls(n_invoices: int, page_size: int = 1000) -> int:
    """The fewest Xero calls a full read of :func:`books` can make: the Organisation, then
    its contacts (customers and the supplier), sales invoices and credit notes, a page each
    per ``page_size``. Above 100,000 invoices the contacts and the credit notes take more
    than one page each, so this is more than the ``ceil(N/1000) + 3`` of one page each."""
    contacts = max(2, n_invoices // 100) + 1
    notes = max(1, n_invoices // 50)
    return 1 + sum(-(-count // page_size) for count in (contacts, n_invoices, notes))


# -- the emulator in a process of its own ---------------------------------------------------


def _serve(
    conn: Any, n_invoices: int, big: int, per_customer: int, options: dict[str, Any]
) -> None:
    from xero_emulator import Emulator

    seed = books(n_invoices, big=big, per_customer=per_customer)
    info = {
        "tenant_id": seed["tenants"][0]["tenantId"],
        "big_contact_id": seed["tenants"][0]["Contacts"][0]["ContactID"],
    }
    emulator = Emulator(seed, **options)
    del seed  # the emulator keeps its own parsed copy (and the live one)
    # Millions of long-lived objects: keep the cyclic GC from walking them again and again.
    gc.collect()
    gc.freeze()
    server = emulator.serve()
    conn.send({"url": server.url, **info})
    while True:
        command, _args = conn.recv()
        if command == "stop":
            break
        if command == "tokens":
            conn.send(emulator.issue_tokens(user_email=OWNER))
        elif command == "stats":
            conn.send(emulator.stats())
        elif command == "reset_stats":
            emulator.reset_stats()
            conn.send(None)
    server.shutdown()


class EmulatorProcess:
    """An emulator serving :func:`books` from a forked process, so its memory and its
    CPU are not the benchmark's. Commands go over a pipe (no control endpoints needed)."""

    def __init__(
        self, n_invoices: int, *, big: int = 1000, per_customer: int = 100, **options: Any
    ) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve, args=(child, n_invoices, big, per_customer, options), daemon=True
        )
        self._process.start()
        # A million invoices take a while to generate and load; bounded all the same.
        if not self._conn.poll(1800):
            self.stop()
            raise BenchmarkFailed("the emulator did not start within 30 minutes")
        info = self._conn.recv()
        self.url: str = info["url"]
        self.tenant_id: str = info["tenant_id"]
        self.big_contact_id: str = info["big_contact_id"]

    def _ask(self, command: str) -> Any:
        self._conn.send((command, None))
        if not self._conn.poll(60):
            raise BenchmarkFailed(f"the emulator did not answer {command!r} within 60 s")
        return self._conn.recv()

    def issue_tokens(self) -> dict[str, Any]:
        return dict(self._ask("tokens"))

    def tenant_stats(self) -> dict[str, Any]:
        stats = self._ask("stats")["tenants"].get(self.tenant_id)
        return stats or {"calls": 0, "rate_limited": 0}

    def reset_stats(self) -> None:
        self._ask("reset_stats")

    def stop(self) -> None:
        if self._process.is_alive():
            with suppress(OSError):
                self._conn.send(("stop", None))
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(5)


# -- the plugin's SQL statements -------------------------------------------------------------


class SQLCounter:
    """Counts and keeps the SQL statements that touch the plugin's tables (``xero_panel_``),
    with their parameters, while :meth:`counting`."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.statements: list[tuple[str, Any]] = []
        self._on = False

        @event.listens_for(engine, "before_cursor_execute")
        def _seen(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
            if self._on and "xero_panel_" in statement:
                self.statements.append((statement, parameters))

    @contextmanager
    def counting(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements = []
        self._on = True
        try:
            yield self.statements
        finally:
            self._on = False


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` calls of ``fn``."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out
