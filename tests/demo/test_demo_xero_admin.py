"""The demo's side of the admin pages: its marketplace card looks like its neighbours and
says Installed for Acme, and its record lister feeds the health page's match coverage."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

import demo_app
from tests.demo.conftest import client_as, free_port


@pytest.fixture
def connected(tmp_path: Any, seed: Any) -> Iterator[Any]:
    """The demo with Acme connected to the emulator, as ``python demo_app.py`` starts it."""
    from xero_emulator import Emulator

    emulator = Emulator(seed, control_enabled=False)
    server = emulator.serve(host="127.0.0.1", port=free_port())
    try:
        app = demo_app.create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/demo.db"},
            seed=seed,
            emulator_url=server.url,
        )
        demo_app.rebuild_database(app)
        demo_app.connect_acme(app, emulator)
        yield app
        with app.app_context():
            demo_app.db.engine.dispose()
    finally:
        server.shutdown()


def page(app: Any, email: str, path: str) -> str:
    return str(client_as(app, email).get(path).get_data(as_text=True))


def test_marketplace_card_matches_its_neighbours_and_says_installed(connected: Any) -> None:
    acme = page(connected, "admin@acme.test", "/settings/marketplace")
    assert re.search(
        r'<article class="app-card" data-testid="xero-card"[^>]*data-installed="true"', acme
    )
    assert 'data-testid="xero-card-manage"' in acme
    globex = page(connected, "admin@globex.test", "/settings/marketplace")
    assert 'data-installed="false"' in globex and 'data-testid="xero-card-install"' in globex


COVERAGE = re.compile(
    r'data-contacts-matched="(\d+)" data-contacts-total="(\d+)"\s+'
    r'data-accounts-matched="(\d+)" data-accounts-total="(\d+)"'
)


def test_health_page_shows_the_demo_records_match_coverage(connected: Any) -> None:
    deadline = time.monotonic() + 30
    while True:
        html = page(connected, "admin@acme.test", "/integrations/xero/health")
        found = COVERAGE.search(html)
        assert found, html[:2000]
        numbers = list(map(int, found.groups()))
        if numbers[0] > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    contacts_matched, contacts, accounts_matched, accounts = numbers
    # The demo has a few records that match nothing in Xero, on purpose.
    assert 0 < contacts_matched < contacts and 0 < accounts_matched < accounts
    assert 'data-testid="unmatched-records"' in html
    assert 'data-testid="link-record"' in html
