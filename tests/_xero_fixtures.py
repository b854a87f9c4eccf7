"""Shared test helpers for the Xero client, parsing and rate-budget tests.

``EXAMPLES`` reads ``tests/fixtures/xero-examples/*.json``, verbatim copies of
``shared/xero-examples`` (response bodies from Xero's OpenAPI spec), so the tests run from a
clone or an sdist too; ``test_xero_types`` checks the copies
against the originals whenever ``shared/`` sits beside the repository.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from xero_panel.exceptions import AuthExpired

SHARED_EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "shared" / "xero-examples"

TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
OTHER_TENANT = "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b"
API = "https://api.xero.com/api.xro/2.0"
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.access-token-one.c2lnbmF0dXJl"
NEW_ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.access-token-two.c2lnbmF0dXJl"

#: 2023-11-14T22:13:20Z: a fixed "now" for fake clocks.
T0 = 1_700_000_000.0

#: Xero's example bodies from its OpenAPI spec (see fixtures/xero-examples/README.md), by stem.
EXAMPLES_DIR = Path(__file__).parent / "fixtures" / "xero-examples"
EXAMPLES: dict[str, str] = {p.stem: p.read_text() for p in sorted(EXAMPLES_DIR.glob("*.json"))}


def example(name: str) -> Any:
    """One example body, decoded as the client decodes Xero's JSON (floats as Decimal)."""
    return json.loads(EXAMPLES[name], parse_float=Decimal)


def example_text(name: str) -> str:
    """One example body as the raw JSON text Xero would send."""
    return EXAMPLES[name]


class FakeClock:
    """A clock whose ``sleep`` records the wait and moves time on, without waiting."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeTokens:
    """A :class:`~xero_panel.xero.transport.TokenSource` that records refreshes."""

    def __init__(self, token: str = ACCESS_TOKEN, refreshed: str | None = NEW_ACCESS_TOKEN) -> None:
        self.token = token
        self.refreshed = refreshed
        self.refresh_calls: list[str] = []

    def access_token(self) -> str:
        return self.token

    def refresh_access_token(self, rejected: str) -> str:
        self.refresh_calls.append(rejected)
        if self.refreshed is None:
            raise AuthExpired("The Xero refresh token was rejected: an admin must reconnect Xero.")
        self.token = self.refreshed
        return self.token
