"""Webhook-first freshness: while an organisation's webhooks arrive, panel views poll Xero
no more; a jittered catch-up sync runs when due; when webhooks go quiet past the threshold
or their fetch fails, views poll every TTL again. Time moves by the ``clock`` fixture; Xero
calls are the emulator's counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests._sync_support import SyncHost
from tests.clock import Clock
from tests.webhook_support import KEY, event, payload, post, wait_until
from xero_panel.models import WebhookTenant
from xero_panel.sync.webhook_mode import JITTER, Mode, jittered, mode_of


@pytest.fixture
def hooked(clock: Clock, make_host: Callable[..., Any], database_url: str) -> Iterator[SyncHost]:
    # Tokens outlive the day the clock moves through (the tests here are not about refresh).
    h = SyncHost(make_host, database_url, webhook_key=KEY, access_token_ttl=2 * 86400)
    h.full_sync()
    yield h
    h.close()


def deliver(h: SyncHost, status: str | None = None) -> str:
    """A change to one invoice in Xero (when ``status`` is given) and Xero's webhook for it;
    returns once its fetch is done."""
    invoice = h.invoice_like(Type="ACCREC", Status="AUTHORISED", Payments=[])
    if status is not None:
        change = {"InvoiceID": invoice["InvoiceID"], "Status": status}
        h.emulator.apply_change("Invoices", h.tenant_id, change, fire_webhook=False)
    told = event(h, invoice["InvoiceID"])
    told["eventDateUtc"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    assert post(h, payload(told)).status_code == 200
    assert h.wait_idle()
    return str(invoice["InvoiceID"])


def settle(h: SyncHost) -> None:
    """Wait for a refresh a view started in the background, if any."""
    assert h.scheduler.locks.wait_unlocked(f"refresh:{h.org_id}", 30)


def mode(h: SyncHost) -> Mode:
    with h.state_session() as session:
        heard = session.get(WebhookTenant, h.tenant_id)
    return h.scheduler.webhook_modes.mode(heard, dt.datetime.now(dt.UTC))


def test_views_in_webhook_mode_make_no_call(clock: Clock, hooked: SyncHost) -> None:
    deliver(hooked)
    hooked.emulator.reset_stats()
    assert mode(hooked).name == "webhooks"
    for _ in range(10):  # 50 minutes, each view far past the 60 s TTL
        clock.advance(minutes=5)
        hooked.view()
        settle(hooked)
    assert hooked.calls()["calls"] == 0


def test_views_without_webhooks_poll_every_ttl(clock: Clock, hooked: SyncHost) -> None:
    assert mode(hooked) == Mode("polling", reason="no webhook received yet")
    for _ in range(3):
        clock.advance(minutes=5)
        hooked.view()
    assert hooked.calls()["by_endpoint"] == {"Invoices": 3}


def test_quiet_past_the_threshold_a_view_polls(clock: Clock, hooked: SyncHost) -> None:
    deliver(hooked)
    clock.advance(hours=2, minutes=59)
    assert mode(hooked).name == "webhooks"
    clock.advance(minutes=2)
    assert mode(hooked).text == "polling: no webhook for 3 hours"
    hooked.emulator.reset_stats()
    hooked.view()  # polls, and waits for it as in polling mode
    assert hooked.calls()["by_endpoint"] == {"Invoices": 1}
    assert hooked.sync_state().fresh_at == clock.now


def test_next_delivery_after_quiet_starts_webhook_mode_again(
    clock: Clock, hooked: SyncHost
) -> None:
    deliver(hooked)
    first = clock.now
    clock.advance(minutes=30)
    deliver(hooked)
    assert mode(hooked).since == first  # still the same stretch
    clock.advance(hours=4)
    deliver(hooked)
    assert mode(hooked) == Mode("webhooks", clock.now)


def test_failing_webhook_fetch_falls_back_to_polling(
    clock: Clock, hooked: SyncHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The failed fetch's retry timer (30 s of real time) would outlive the test.
    monkeypatch.setattr(hooked.scheduler.runner, "submit_later", lambda *job: None)
    deliver(hooked)
    hooked.emulator.add_fault({"endpoint": "Invoices", "status": 500, "times": 20})
    clock.advance(minutes=1)
    deliver(hooked)  # its fetch fails
    assert mode(hooked).name == "polling"
    assert mode(hooked).text.startswith("polling: a webhook failed (")
    hooked.emulator.clear_faults()
    clock.advance(minutes=10)
    hooked.emulator.reset_stats()
    hooked.view()
    assert hooked.sync_state().fresh_at == clock.now  # the view polled
    assert hooked.calls()["by_endpoint"].get("Invoices", 0) >= 1
    clock.advance(minutes=1)
    deliver(hooked)  # a delivery whose fetch works
    assert mode(hooked) == Mode("webhooks", clock.now)


def test_catch_up_runs_when_due_in_the_background(clock: Clock, hooked: SyncHost) -> None:
    deliver(hooked)
    synced = hooked.sync_state().fresh_at
    hooked.emulator.reset_stats()
    clock.advance(minutes=50)
    hooked.view()
    settle(hooked)
    assert hooked.calls()["calls"] == 0
    clock.advance(minutes=11)  # past the hour, and past any jitter
    hooked.view()
    settle(hooked)
    wait_until(lambda: hooked.sync_state().fresh_at == clock.now)
    assert synced != clock.now
    assert hooked.calls()["by_endpoint"] == {"Invoices": 1}
    clock.advance(minutes=5)
    hooked.view()
    settle(hooked)
    assert hooked.calls()["by_endpoint"] == {"Invoices": 1}  # not due again for an hour


def test_a_viewed_day_with_webhooks_costs_at_most_30_calls_plus_1_per_change(
    clock: Clock, hooked: SyncHost
) -> None:
    """A 10-hour day, a view every minute, a changed invoice every hour (0.2: about 600)."""
    deliver(hooked)
    hooked.emulator.reset_stats()
    changes = 0
    for minute in range(1, 601):
        clock.advance(minutes=1)
        if minute % 60 == 30:
            deliver(hooked, status="VOIDED" if changes % 2 else "AUTHORISED")
            changes += 1
        hooked.view()
        settle(hooked)
    calls = hooked.calls()["calls"]
    assert changes == 10
    assert calls <= 30 + changes, hooked.calls()
    assert mode(hooked).name == "webhooks"


# -- the rules, without a database ----------------------------------------------------------

NOW = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)


def heard(**values: Any) -> WebhookTenant:
    return WebhookTenant(tenant_id="t", **values)


def test_mode_of_webhooks_off() -> None:
    got = mode_of(heard(last_delivery_at=NOW), NOW, enabled=False, quiet_after=60)
    assert got.text == "polling: webhooks are off (no XERO_PANEL_WEBHOOK_KEY)"


def test_mode_of_since_the_stretch_began() -> None:
    began = NOW - dt.timedelta(hours=5)
    row = heard(last_delivery_at=NOW - dt.timedelta(minutes=2), arriving_since=began)
    got = mode_of(row, NOW, enabled=True, quiet_after=10800)
    assert got == Mode("webhooks", began)
    assert got.text == f"mode: webhooks since {began:%Y-%m-%d %H:%M} UTC"


@pytest.mark.parametrize(
    ("quiet", "text"),
    [
        (dt.timedelta(minutes=61), "polling: no webhook for 1 hour"),
        (dt.timedelta(hours=3, minutes=5), "polling: no webhook for 3 hours"),
        (dt.timedelta(days=3), "polling: no webhook for 3 days"),
    ],
)
def test_mode_of_quiet(quiet: dt.timedelta, text: str) -> None:
    last = NOW - quiet
    got = mode_of(heard(last_delivery_at=last), NOW, enabled=True, quiet_after=3600)
    assert got.text == text
    assert got.since == last + dt.timedelta(seconds=3600)


def test_mode_of_failed() -> None:
    row = heard(last_delivery_at=NOW, failed_at=NOW, failure="Xero answered 500")
    got = mode_of(row, NOW, enabled=True, quiet_after=10800)
    assert got == Mode("polling", NOW, "a webhook failed (Xero answered 500)")


def test_jitter_shortens_by_at_most_a_tenth_and_differs_per_organisation() -> None:
    spread = {jittered(3600, org) for org in range(1, 50)}
    assert all(3600 * (1 - JITTER) <= s <= 3600 for s in spread)
    assert len(spread) > 40
    assert jittered(3600, 7) == jittered(3600, 7)


def test_health_page_says_each_organisations_mode(clock: Clock, hooked: SyncHost) -> None:
    from tests.conftest import USERS

    admin = hooked.app.test_client(user=USERS["admin-acme"])

    def said() -> str:
        page = admin.get("/integrations/xero/health")
        assert page.status_code == 200
        return page.text

    assert 'data-mode="polling">polling: no webhook received yet<' in said()
    deliver(hooked)
    began = clock.now
    clock.advance(minutes=20)
    assert f'data-mode="webhooks">mode: webhooks since {began:%Y-%m-%d %H:%M} UTC<' in said()
    clock.advance(hours=3)
    assert 'data-mode="polling">polling: no webhook for 3 hours<' in said()


def test_webhook_settings_defaults() -> None:
    from xero_panel.webhook_settings import read_webhook_settings

    assert read_webhook_settings({}) == read_webhook_settings(
        {"XERO_PANEL_WEBHOOK_QUIET_AFTER": "10800", "XERO_PANEL_WEBHOOK_RECONCILE_INTERVAL": 3600}
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "XERO_PANEL_WEBHOOK_QUIET_AFTER must be a whole number of seconds, not 'soon'."),
        (True, "XERO_PANEL_WEBHOOK_QUIET_AFTER must be a whole number of seconds, not True."),
        (59, "XERO_PANEL_WEBHOOK_QUIET_AFTER must be at least 60 seconds, not 59."),
    ],
)
def test_webhook_settings_checked(value: Any, message: str) -> None:
    from xero_panel.webhook_settings import read_webhook_settings

    with pytest.raises(ValueError) as error:
        read_webhook_settings({"XERO_PANEL_WEBHOOK_QUIET_AFTER": value})
    assert str(error.value) == message


def test_bad_webhook_setting_stops_init_app(make_host: Callable[..., Any], tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="XERO_PANEL_WEBHOOK_RECONCILE_INTERVAL"):
        make_host(f"sqlite:///{tmp_path}/bad.db", XERO_PANEL_WEBHOOK_RECONCILE_INTERVAL="hourly")
