"""The emulator with the sample seed (``xero``) and the host app connected to it (``host``,
in place of tests/conftest.py's), for the tests in this folder."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from xero_emulator import sample_seed

from tests import conftest
from tests.admin_support import wait_for_background_jobs
from tests.conftest import HostApp
from tests.xero_flow import emulator_settings, serving
from xero_panel.records import CRMRecord


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
    for thread in threading.enumerate():  # and so do the refreshes views started
        if thread.name.startswith("xero-panel-") and thread is not threading.current_thread():
            thread.join(30)
