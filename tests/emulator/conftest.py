"""Fixtures for the emulator's tests: a fake clock, an emulator on the example seed and its
server, tokens and API calls; the sample world; a webhook receiver. The helpers they use are
in :mod:`tests.emulator.helpers`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from xero_emulator import Emulator, EmulatorServer, sample_seed

from tests.emulator.helpers import (
    EXAMPLE_TENANT,
    KEY,
    SAMPLE_DAY,
    SCOPE,
    T1,
    FakeClock,
    Receiver,
    api_getter,
    example_seed,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Emulator:
    return Emulator(example_seed(), control_enabled=True, clock=clock)


@pytest.fixture
def server(emu: Emulator) -> Iterator[EmulatorServer]:
    srv = emu.serve(port=0)
    yield srv
    srv.shutdown()


@pytest.fixture
def url(server: EmulatorServer) -> str:
    return server.url


@pytest.fixture
def tokens(emu: Emulator, server: EmulatorServer) -> dict[str, Any]:
    return emu.issue_tokens(user_email="kat@example.test", scope=SCOPE)


@pytest.fixture
def api(url: str, tokens: dict[str, Any]) -> Callable[..., requests.Response]:
    """GET an Accounting API path for the example tenant."""
    return api_getter(url, tokens["access_token"], EXAMPLE_TENANT)


@pytest.fixture(scope="session")
def sample() -> dict[str, Any]:
    return sample_seed(SAMPLE_DAY)


@pytest.fixture(scope="module")
def world(sample: dict[str, Any]) -> Iterator[tuple[Emulator, str, dict[str, Any]]]:
    """The sample seed served, with the first sample user's tokens."""
    emu = Emulator(sample, clock=lambda: 1_782_900_000.0)
    server = emu.serve(port=0)
    tokens = emu.issue_tokens(user_email="owner@kiwi-garden.test")
    yield emu, server.url, tokens
    server.shutdown()


@pytest.fixture
def get(world: tuple[Emulator, str, dict[str, Any]]) -> Callable[..., requests.Response]:
    """GET an Accounting API path of the sample world, as its first organisation."""
    _, url, tokens = world
    return api_getter(url, tokens["access_token"], T1)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(KEY)
    yield rec
    rec.close()


@pytest.fixture
def hooked(receiver: Receiver, clock: FakeClock) -> Iterator[tuple[Emulator, str]]:
    """An emulator on the example seed that sends its webhooks to ``receiver``."""
    emu = Emulator(
        example_seed(),
        control_enabled=True,
        clock=clock,
        webhook_url=receiver.url,
        webhook_key=KEY,
        webhook_retry_delay=0.01,
    )
    server = emu.serve(port=0)
    yield emu, server.url
    server.shutdown()
