"""Tests with two CRM accounts (Acme, Globex) and one Xero user, owner@kiwi-garden.test,
who has two organisations, against the emulator. Their ``xero`` and ``host`` fixtures are in
this folder's conftest.py; the names the tests share are here."""

from __future__ import annotations

from typing import Any

from tests.admin_support import connect, save, wait_for_background_jobs
from tests.conftest import HostApp

SUPPLIES = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11"
AUSTRALIA = "a83d5e20-7b19-4f6c-8d2e-51c9b4e7f022"
OWNER = "owner@kiwi-garden.test"


def saved_acme(host: HostApp, xero: Any) -> Any:
    """Acme's admin, signed in, with Kiwi Garden Supplies connected, saved and synced."""
    acme = host.client("admin-acme")
    connect(acme, tenants=[SUPPLIES])
    save(acme, [SUPPLIES])
    wait_for_background_jobs(host.app)
    return acme
