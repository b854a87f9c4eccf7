"""Fixtures for tests with two CRM accounts (Acme, Globex) and one Xero user,
owner@kiwi-garden.test, who has two organisations, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from xero_emulator import sample_seed

from tests import conftest
from tests.admin_support import connect, save, wait_for_background_jobs
from tests.conftest import HostApp
from tests.xero_flow import emulator_settings, serving
from xero_panel.records import CRMRecord

SUPPLIES = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11"
AUSTRALIA = "a83d5e20-7b19-4f6c-8d2e-51c9b4e7f022"
OWNER = "owner@kiwi-garden.test"


@pytest.fixture(name="xero")
def xero_fixture() -> Iterator[Any]:
    with serving(sample_seed()) as emulator:
        yield emulator


@pytest.fixture(name="host")
def host_fixture(
    make_host: Any, database_url: str, xero: Any, monkeypatch: Any
) -> Iterator[HostApp]:
    monkeypatch.setitem(
        conftest.RECORDS, ("acme", "account", "9"), CRMRecord("Totara Events Group")
    )
    host = make_host(database_url, **emulator_settings(xero))
    yield host
    wait_for_background_jobs(host.app)  # a sync Save started ends before its tables go


def saved_acme(host: HostApp, xero: Any) -> Any:
    """Acme's admin, signed in, with Kiwi Garden Supplies connected, saved and synced."""
    acme = host.client("admin-acme")
    connect(acme, tenants=[SUPPLIES])
    save(acme, [SUPPLIES])
    wait_for_background_jobs(host.app)
    return acme
