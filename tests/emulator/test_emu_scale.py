"""The emulator at scale: a generated book of any size, its list order kept between pages of a
large store (and dropped on a change), its fast copy, and the per-call latency option. No
timings are asserted: latency is checked through the sleep it asks for."""

from __future__ import annotations

import gc
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from xero_emulator import Emulator
from xero_emulator import queries as emu_queries
from xero_emulator.__main__ import main as emulator_main
from xero_emulator.faults import FaultBook
from xero_emulator.views import http as emu_http

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_common

PAGE = {"where": 'Type=="ACCREC"', "order": "InvoiceID ASC", "pageSize": "1000"}


def _pages(emu: Emulator, tenant_id: str, args: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for page in range(1, 100):
        got = emu.list_objects("Invoices", tenant_id, {**args, "page": str(page)}, None)
        out.extend(got.items)
        if not got.items:
            return out
    raise AssertionError("more than 100 pages")


def test_generated_books_have_the_promised_shape() -> None:
    seed = bench_common.books(3000, big=1000)
    tenant = seed["tenants"][0]
    sales = [i for i in tenant["Invoices"] if i["Type"] == "ACCREC"]
    assert len(sales) == 3000
    assert len([c for c in tenant["Contacts"] if c.get("IsCustomer")]) == 30
    big = tenant["Contacts"][0]
    assert big["Name"] == bench_common.big_customer_name()
    assert sum(1 for i in sales if i["Contact"]["ContactID"] == big["ContactID"]) == 1000
    paid = [i for i in sales if i["Payments"]]
    assert 0.3 < len(paid) / len(sales) < 0.5
    assert any(len(i["Payments"]) == 2 for i in sales)
    assert any(i["Status"] == "VOIDED" for i in sales)
    notes = tenant["CreditNotes"]
    assert len(notes) == 60 and {n["Type"] for n in notes} == {"ACCRECCREDIT"}
    # The big customer's documents do not grow with the book: 1,000 invoices, 20 notes.
    assert sum(1 for n in notes if n["Contact"]["ContactID"] == big["ContactID"]) == 20
    bigger = bench_common.books(10_000, big=1000)["tenants"][0]
    big_id = bigger["Contacts"][0]["ContactID"]
    assert sum(1 for n in bigger["CreditNotes"] if n["Contact"]["ContactID"] == big_id) == 20
    assert bench_common.cached_documents(3000) == 3060
    assert bench_common.books(3000, big=1000) == seed  # the same books every run


def test_large_books_load_and_page_exactly_once_each() -> None:
    seed = bench_common.books(4500, big=1000)
    tenant_id = seed["tenants"][0]["tenantId"]
    emu = Emulator(seed)
    got = _pages(emu, tenant_id, PAGE)
    assert len(got) == 4500
    assert [i["InvoiceID"] for i in got] == sorted(i["InvoiceID"] for i in got)
    big = seed["tenants"][0]["Contacts"][0]["ContactID"]
    assert sum(1 for i in got if i["Contact"]["ContactID"] == big) == 1000
    assert {i["Type"] for i in got} == {"ACCREC"}


def test_a_large_store_filters_and_sorts_once_for_all_its_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = bench_common.books(2500, big=500)
    tenant_id = seed["tenants"][0]["tenantId"]
    emu = Emulator(seed)
    sorts: list[int] = []
    real = emu_queries._filter_and_sort

    def counted(*args: Any) -> Any:
        sorts.append(1)
        return real(*args)

    monkeypatch.setattr(emu_queries, "_filter_and_sort", counted)
    assert len(_pages(emu, tenant_id, PAGE)) == 2500
    assert len(sorts) == 1  # four pages, one sort
    monkeypatch.setattr(emu_queries, "CACHE_MIN_OBJECTS", 10**9)
    sorts.clear()
    assert len(_pages(emu, tenant_id, PAGE)) == 2500
    assert len(sorts) == 4  # a small store sorts on every page


def test_a_change_is_seen_by_the_next_page_of_a_large_store() -> None:
    seed = bench_common.books(2500, big=500)
    tenant_id = seed["tenants"][0]["tenantId"]
    emu = Emulator(seed)
    first = _pages(emu, tenant_id, PAGE)
    victim = first[0]
    emu.apply_change(
        "Invoices",
        tenant_id,
        {"InvoiceID": victim["InvoiceID"], "Reference": "changed"},
        fire_webhook=False,
    )
    after = _pages(emu, tenant_id, PAGE)
    assert after[0]["InvoiceID"] == victim["InvoiceID"]
    assert after[0]["Reference"] == "changed"
    emu.apply_change(
        "Invoices",
        tenant_id,
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": victim["Contact"]["ContactID"]},
            "InvoiceNumber": "INV-NEW",
            "Status": "AUTHORISED",
            "Total": 10,
            "Date": "2026-06-01",
        },
        fire_webhook=False,
    )
    assert len(_pages(emu, tenant_id, PAGE)) == 2501
    emu.reset()
    assert len(_pages(emu, tenant_id, PAGE)) == 2500


def test_a_tenant_copy_is_deep_and_shares_nothing_mutable() -> None:
    seed = bench_common.books(40, big=20)
    emu = Emulator(seed)
    tenant_id = seed["tenants"][0]["tenantId"]
    live = emu.tenant(tenant_id)
    copied = live.copy()
    assert copied.invoices == live.invoices
    invoice_id = next(iter(live.invoices))
    copied.invoices[invoice_id]["Payments"].append({"Amount": Decimal("1.00")})
    copied.invoices[invoice_id]["Contact"]["ContactID"] = "x"
    assert live.invoices[invoice_id]["Contact"]["ContactID"] != "x"
    assert copied.invoices[invoice_id]["Payments"] != live.invoices[invoice_id]["Payments"]


def test_latency_delays_every_accounting_call(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(emu_http.time, "sleep", slept.append)
    seed = bench_common.books(30, big=10)
    tenant_id = seed["tenants"][0]["tenantId"]
    emu = Emulator(seed, latency_ms=300)
    server = emu.serve()
    try:
        token = emu.issue_tokens(user_email=bench_common.OWNER)["access_token"]
        headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": tenant_id}
        for endpoint in ("Invoices", "Contacts", "Organisation"):
            got = requests.get(f"{server.url}/api.xro/2.0/{endpoint}", headers=headers, timeout=5)
            assert got.status_code == 200
        assert slept == [0.3, 0.3, 0.3]
        requests.get(f"{server.url}/connections", headers=headers, timeout=5)
        assert slept == [0.3, 0.3, 0.3]  # identity calls are not delayed
        # A delay fault adds to the latency; clearing the faults keeps the latency.
        emu.add_fault({"delay_ms": 200, "times": 1})
        requests.get(f"{server.url}/api.xro/2.0/Invoices", headers=headers, timeout=5)
        emu.faults.clear()
        requests.get(f"{server.url}/api.xro/2.0/Invoices", headers=headers, timeout=5)
        assert slept[3:] == [0.5, 0.3]
    finally:
        server.shutdown()


def test_latency_must_be_a_non_negative_integer() -> None:
    assert FaultBook().latency_ms == 0
    with pytest.raises(ValueError, match="latency_ms"):
        FaultBook(-1)


def test_the_command_line_takes_latency(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert emulator_main(["--latency-ms", "-5", "--port", "0"]) == 2
    assert "latency_ms" in capsys.readouterr().err
    built: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def fake_serve(self: Emulator, host: str, port: int) -> Any:
        built["latency"] = self.faults.latency_ms
        raise Stop

    monkeypatch.setattr(Emulator, "serve", fake_serve)
    try:
        with pytest.raises(Stop):
            emulator_main(["--latency-ms", "300", "--port", "0"])
    finally:
        gc.unfreeze()  # main froze this test process's objects before serving
    assert built["latency"] == 300
