"""Faults through the emulator, seen from the panel: Xero answering 500 or 503, timing out,
dropping the connection, a 429 storm, the grant revoked, the refresh token expired, and the
database's connections or Redis going away mid-run.

For each: the panel keeps rendering (the cache, with its age and a clear notice), the
background sync recovers by itself once the fault is gone (or, for a refused grant, once an
admin reconnects), and the cache then equals Xero's data: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests._sync_support import OWNER, EmulatorTokens, SyncHost, cached_truth, xero_truth
from tests.conftest import USERS

PANEL = "/integrations/xero/panel/account/1"
ERROR = "Xero answered with an error"
REFUSED = "Xero refused this connection's tokens."
WAIT = 3.0


@pytest.fixture
def h(make_host: Callable[..., Any], database_url: str) -> Iterator[SyncHost]:
    host = SyncHost(
        make_host,
        database_url,
        XERO_PANEL_HTTP_TIMEOUT=1,
        XERO_PANEL_SYNC_WAIT=WAIT,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(database_url),
    )
    host.full_sync()
    _link_account_to_contact_0(host)
    yield host
    host.close()


def _engine_options(database_url: str) -> dict[str, Any]:
    """What docs/sync.md asks of a host on PostgreSQL: ``pool_pre_ping``, so connections the
    server dropped (a restart) are replaced, not handed to a request."""
    if database_url.startswith("postgresql"):
        # A name of our own, so that only this test's connections are terminated.
        name = f"xp-faults-{uuid.uuid4().hex[:10]}"
        return {"pool_pre_ping": True, "connect_args": {"application_name": name}}
    return {}


def _link_account_to_contact_0(h: SyncHost) -> None:
    from xero_panel.models import RecordLink

    with h.state_session() as session:
        session.add(
            RecordLink(
                crm_account="acme",
                record_type="account",
                record_id="1",
                organisation_id=h.org_id,
                contact_id=h.contact_id(0).lower(),
            )
        )
        session.commit()


def view(h: SyncHost) -> tuple[int, str, float]:
    client = h.app.test_client(user=USERS["rep-acme"])
    started = time.monotonic()
    response = client.get(PANEL)
    return (
        response.status_code,
        html.unescape(response.get_data(as_text=True)),
        (time.monotonic() - started),
    )


def rows(page: str) -> int:
    return page.count('data-testid="invoice-row"')


def refresh_ended(h: SyncHost) -> None:
    assert h.scheduler.locks.wait_unlocked(f"refresh:{h.org_id}", 30)


def change_in_xero(h: SyncHost) -> None:
    """A payment made in Xero while the fault lasts: it must reach the cache afterwards."""
    invoice = h.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    h.emulator.add_payment(h.tenant_id, invoice["InvoiceID"], {"Amount": 3})


def assert_cache_equals_xero(h: SyncHost) -> None:
    with h.app.app_context():
        cached = cached_truth(h.host.db.engine, h.org_id)
    assert cached == xero_truth(h.emulator_server.url, EmulatorTokens(h.emulator), h.tenant_id)


def expire_refresh_token(h: SyncHost) -> None:
    """Sixty-one days pass: the access token and the unused refresh token both expire."""
    h.emulator.advance_clock(61 * 86_400)


def storm(h: SyncHost) -> None:
    """Every call answered 429 (the concurrent limit, ``Retry-After: 1``)."""
    h.emulator.limiter.configure({"concurrent": 0})


#: fault name -> (start it, what the panel then says)
XERO_FAULTS: dict[str, tuple[Callable[[SyncHost], None], str]] = {
    "500": (
        lambda h: h.emulator.add_fault({"endpoint": "Invoices", "status": 500}),
        'data-reason="xero-error">Xero is having trouble right now; showing invoices as of',
    ),
    "503": (
        lambda h: h.emulator.add_fault({"endpoint": "Invoices", "status": 503}),
        'data-reason="xero-error">Xero is having trouble right now; showing invoices as of',
    ),
    "timeout": (
        lambda h: h.emulator.add_fault({"endpoint": "Invoices", "delay_ms": 1500}),
        'data-reason="slow">Xero is slow to answer; showing invoices as of',
    ),
    "drop": (
        lambda h: h.emulator.add_fault({"endpoint": "Invoices", "drop": True}),
        'data-reason="unreachable">Xero cannot be reached right now; showing invoices as of',
    ),
    "429 storm": (
        storm,
        'data-reason="rate-limited">Xero is busy with this organisation\'s requests right now;'
        " showing invoices as of",
    ),
}


@pytest.mark.parametrize("fault", sorted(XERO_FAULTS))
def test_xero_fault_panel_serves_cache_then_sync_recovers(h: SyncHost, fault: str) -> None:
    start, message = XERO_FAULTS[fault]
    _, before, _ = view(h)
    cached_rows = rows(before)
    assert cached_rows > 0
    h.age()
    change_in_xero(h)
    start(h)

    status, page, took = view(h)
    # The view waits at most XERO_PANEL_SYNC_WAIT for the refresh; this bound (5 times
    # that) only catches a view that waits for Xero itself. How long it takes:
    # benchmarks/bench_latency.py.
    assert status == 200 and took < 5 * WAIT
    assert rows(page) == cached_rows  # the cache, whatever Xero does
    refresh_ended(h)
    status, page, _ = view(h)
    assert status == 200 and rows(page) == cached_rows
    assert 'data-testid="panel-notice"' in page and message in page
    assert re.search(re.escape(message) + r" .*\bago\.", page)  # with its age

    h.emulator.faults.clear()
    h.emulator.limiter.configure({"concurrent": 5})
    h.age()
    status, page, _ = view(h)
    refresh_ended(h)
    assert status == 200
    assert h.sync_state().last_error is None
    assert message not in view(h)[1]
    assert_cache_equals_xero(h)


@pytest.mark.parametrize("fault", ["revoked grant", "refresh token expired"])
def test_refused_grant_panel_asks_for_reconnect_and_sync_resumes_after(
    h: SyncHost, fault: str
) -> None:
    _, before, _ = view(h)
    cached_rows = rows(before)
    h.age()
    change_in_xero(h)
    if fault == "revoked grant":
        h.emulator.add_fault({"revoke_tenant": h.tenant_id})
    else:
        expire_refresh_token(h)

    view(h)
    refresh_ended(h)
    status, page, _ = view(h)
    assert status == 200 and rows(page) == cached_rows
    assert 'data-reason="needs-reconnect"' in page
    assert h.sync_state().last_error == REFUSED
    h.emulator.reset_stats()
    view(h)
    assert h.calls()["calls"] == 0  # no calls with refused tokens

    # An admin reconnects: the sync picks up by itself.
    with h.app.app_context():
        h.host.panel.store_connection("acme", h.emulator.issue_tokens(user_email=OWNER))
    h.age()
    view(h)
    refresh_ended(h)
    assert 'data-reason="needs-reconnect"' not in view(h)[1]
    assert_cache_equals_xero(h)


@pytest.mark.postgres
def test_postgresql_connections_terminated_mid_run(
    make_host: Callable[..., Any], postgres_url: str
) -> None:
    """Every connection of the app terminated by the server (what a PostgreSQL restart
    does to them): views still render and the sync still works."""
    import sqlalchemy as sa

    host = SyncHost(
        make_host,
        postgres_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(postgres_url),
    )
    try:
        host.full_sync()
        _link_account_to_contact_0(host)
        name = host.app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["application_name"]
        assert view(host)[0] == 200
        host.age()
        change_in_xero(host)
        admin = sa.create_engine(postgres_url)
        with admin.begin() as connection:
            killed = connection.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar()
        admin.dispose()
        assert killed and killed >= 1
        statuses = [view(host)[0] for _ in range(3)]
        refresh_ended(host)
        assert statuses == [200, 200, 200]
        assert host.sync_state().last_error is None
        assert_cache_equals_xero(host)
    finally:
        host.close()


@pytest.mark.redis
def test_redis_going_away_mid_run(make_host: Callable[..., Any], database_url: str) -> None:
    """Redis (locks, rate budget, RQ) goes away mid-run: views keep rendering the cache;
    when it is back, the sync works again."""
    import socket

    from tests.conftest import REDIS_URL, require_service

    require_service("Redis", REDIS_URL, 6379)
    prefix = f"xp-faults-{uuid.uuid4().hex[:8]}:"
    host = SyncHost(
        make_host,
        database_url,
        XERO_PANEL_REDIS_URL=REDIS_URL,
        XERO_PANEL_REDIS_PREFIX=prefix,
        XERO_PANEL_RQ_QUEUE=prefix + "q",
    )
    try:
        host.full_sync()
        _link_account_to_contact_0(host)
        _, before, _ = view(host)
        cached_rows = rows(before)
        redis_client = host.state.backends.redis
        pool = redis_client.connection_pool
        real_port = pool.connection_kwargs["port"]
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        pool.connection_kwargs["port"] = closed_port
        pool.disconnect()
        host.age()
        status, page, took = view(host)
        assert status == 200 and rows(page) == cached_rows
        assert took < 5 * WAIT  # it did not wait on Redis (bounds a hang only)

        pool.connection_kwargs["port"] = real_port
        pool.disconnect()
        host.emulator.reset_stats()
        host.age()
        assert view(host)[0] == 200
        refresh_ended(host)
        assert host.sync_state().last_error is None
        assert host.calls()["by_endpoint"].get("Invoices") == 1
    finally:
        host.close()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_two_syncs_storing_one_invoice_at_once_add_its_payments_once(
    make_host: Callable[..., Any], database_url: str
) -> None:
    """Two syncs (say a full sync and a refresh) store the same newly paid invoice at the
    same moment: each read it without payments; the payment is stored once."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from xero_panel.models import Payment
    from xero_panel.sync.cache_writer import CacheWriter
    from xero_panel.xero.types import parse_invoice

    host = SyncHost(make_host, database_url)
    try:
        host.full_sync()
        unpaid = host.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
        host.emulator.add_payment(host.tenant_id, unpaid["InvoiceID"], {"Amount": 3})
        paid = parse_invoice(
            host.emulator.get_object("Invoices", host.tenant_id, unpaid["InvoiceID"])
        )
        with host.app.app_context():
            engine = host.host.db.engine
        with Session(engine) as first, Session(engine) as second:
            other = CacheWriter(first, host.org_id)

            class Racing(CacheWriter):
                raced = False

                def store(self, kind: Any, records: Any) -> int:
                    count = super().store(kind, records)
                    if not Racing.raced:  # the other sync commits between read and write
                        Racing.raced = True
                        other.write(kind, records)
                    return count

            assert Racing(second, host.org_id).write("invoices", [paid]) == 1
            assert Racing.raced
        with Session(engine) as session:
            stored = session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.payment_id.in_([p.payment_id for p in paid.payments]))
            )
        assert stored == 1
    finally:
        host.close()
