"""The fleet benchmark's emulator (``benchmarks/bench_fleet.py``): N small organisations
served from a process of its own, commanded over a pipe."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import threading
from contextlib import suppress
from typing import Any

from bench_common import check

from tests import _seed_parts as parts

OWNER = parts.OWNER
#: The day the generated books end on (fixed: every run generates the same books).
TODAY = dt.date(2026, 7, 1)


def fleet_seed(n_orgs: int, invoices: int, seed: int = 5) -> dict[str, Any]:
    """N small organisations (4 customers, ``invoices`` sales invoices each), one owner."""
    rng = random.Random(seed)
    tenants = []
    for n in range(n_orgs):
        contacts = [
            {
                "ContactID": parts.new_id(rng),
                "Name": f"Customer {n}-{i}",
                "EmailAddress": f"c{i}@org{n}.test",
                "ContactStatus": "ACTIVE",
                "IsCustomer": True,
                "UpdatedDateUTC": parts.xero_ms(TODAY, i),
            }
            for i in range(4)
        ]
        docs = [
            parts.sales_invoice(
                rng,
                f"INV-{i:05d}",
                contacts[i % 4]["ContactID"],
                TODAY,
                status="AUTHORISED",
                total=100.0 + i,
                payments=[],
                updated_seconds=60 + i,
            )
            for i in range(invoices)
        ]
        one = parts.one_tenant_seed(parts.new_id(rng), contacts, docs, [])
        one["tenants"][0]["tenantName"] = one["tenants"][0]["Organisation"]["Name"] = f"Org {n}"
        tenants.append(one["tenants"][0])
    seed_doc = parts.one_tenant_seed("x", [], [], [])
    seed_doc["tenants"] = tenants
    seed_doc["users"][0]["tenants"] = [t["tenantId"] for t in tenants]
    return seed_doc


def _serve(conn: Any, n_orgs: int, invoices: int, app_limit: int) -> None:
    from xero_emulator import Emulator

    seed = fleet_seed(n_orgs, invoices)
    books = {t["tenantId"]: [i["InvoiceID"] for i in t["Invoices"]] for t in seed["tenants"]}
    emulator = Emulator(seed, limits={"app_per_minute": app_limit})
    server = emulator.serve()
    conn.send({"url": server.url, "books": books})
    while True:
        command, args = conn.recv()
        if command == "stop":
            break
        if command == "tokens":
            conn.send(emulator.issue_tokens(user_email=OWNER))
        elif command == "stats":
            conn.send(emulator.stats()["tenants"])
        elif command == "touch":
            tenant, invoice, marker = args
            emulator.apply_change(
                "Invoices", tenant, {"InvoiceID": invoice, "Reference": marker}, fire_webhook=False
            )
            conn.send(None)
    server.shutdown()


class Fleet:
    """The emulator process; commands over a pipe, one at a time."""

    def __init__(self, n_orgs: int, invoices: int, app_limit: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._lock = threading.Lock()
        self._process = ctx.Process(
            target=_serve, args=(child, n_orgs, invoices, app_limit), daemon=True
        )
        self._process.start()
        check(self._conn.poll(600), "the emulator did not start within 10 minutes")
        info = self._conn.recv()
        self.url: str = info["url"]
        self.books: dict[str, list[str]] = info["books"]

    def ask(self, command: str, args: Any = None) -> Any:
        with self._lock:
            self._conn.send((command, args))
            check(self._conn.poll(60), f"the emulator did not answer {command!r}")
            return self._conn.recv()

    def stop(self) -> None:
        with suppress(OSError):
            self._conn.send(("stop", None))
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
