"""Two CRM accounts (Acme, Globex) and one Xero user (owner@kiwi-garden.test) against the
emulator, on SQLite and PostgreSQL: each sign-in offers only what it granted, Remove in one
account never breaks the other, the last Remove revokes, and Test connection tells the truth."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from xero_emulator import DEMO_CLIENT_ID

from tests.admin_support import (
    SETTINGS,
    connect,
    press_test_connection,
    save,
    wait_for_background_jobs,
)
from tests.conftest import HostApp
from tests.two_accounts import AUSTRALIA, OWNER, SUPPLIES, saved_acme
from tests.xero_flow import csrf_from
from xero_panel.models import Connection, SyncState


def offered(page: str) -> list[tuple[str, bool]]:
    """(tenant id, ticked) of each organisation the settings page offers."""
    import re

    return [
        (m.group(1), m.group(2) == "true")
        for m in re.finditer(r'data-tenant-id="([^"]+)"[^>]*data-ticked="(true|false)"', page)
    ]


def remove(client: Any) -> Any:
    page = client.get("/integrations/xero/remove").text
    return page, client.post(
        "/integrations/xero/remove",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=True,
    )


def both_connected(host: HostApp, xero: Any) -> tuple[Any, Any]:
    acme = saved_acme(host, xero)
    globex = host.client("admin-globex")
    page = connect(globex, tenants=[AUSTRALIA]).text
    assert offered(page) == [(AUSTRALIA, True)]  # not Acme's Kiwi Garden Supplies
    save(globex, [AUSTRALIA])
    wait_for_background_jobs(host.app)
    return acme, globex


def user_connections(xero: Any) -> set[str]:
    return {c.tenant_id for c in xero.identity.book.of_user(DEMO_CLIENT_ID, OWNER)}


def test_sign_in_offers_only_what_it_granted_ticked(host: HostApp, xero: Any) -> None:
    both_connected(host, xero)
    with host.app.app_context():
        rows = {
            c.crm_account: sorted(o.tenant_id for o in c.organisations)
            for c in host.db.session.scalars(select(Connection))
        }
    assert rows == {"acme": [SUPPLIES], "globex": [AUSTRALIA]}


def test_organisation_used_elsewhere_may_be_chosen_with_a_note(host: HostApp, xero: Any) -> None:
    saved_acme(host, xero)  # Acme has Kiwi Garden Supplies
    page = connect(host.client("admin-globex"), tenants=[SUPPLIES, AUSTRALIA]).text
    assert sorted(offered(page)) == sorted([(SUPPLIES, True), (AUSTRALIA, True)])
    assert page.count('data-testid="used-elsewhere"') == 1
    assert "also used by another CRM account here" in page
    assert "acme" not in page.lower()


def test_remove_one_account_keeps_the_other_working(host: HostApp, xero: Any) -> None:
    acme, globex = both_connected(host, xero)
    confirm, done = remove(globex)
    assert 'data-revokes="false"' in confirm and "In Xero: nothing changes." in confirm
    assert "Nothing was disconnected or revoked in Xero" in done.text
    assert user_connections(xero) == {SUPPLIES, AUSTRALIA}

    xero.reset_stats()
    tested = press_test_connection(acme).text
    assert "Connection works: Xero answered for Kiwi Garden Supplies Ltd" in tested
    panel = host.client("rep-acme").get("/integrations/xero/panel/account/9")
    assert panel.status_code == 200 and 'data-testid="invoice-row"' in panel.text
    refreshed = acme.post(
        "/integrations/xero/refresh", data={"csrf_token": csrf_from(acme.get(SETTINGS).text)}
    )
    assert refreshed.status_code == 302
    wait_for_background_jobs(host.app)
    stats = xero.stats()["tenants"][SUPPLIES]
    assert stats["calls"] >= 2 and stats["errors"] == 0, stats
    with host.app.app_context():
        assert [c.crm_account for c in host.db.session.scalars(select(Connection))] == ["acme"]


def test_removing_the_last_account_revokes_the_grant(host: HostApp, xero: Any) -> None:
    acme, globex = both_connected(host, xero)
    remove(globex)
    confirm, done = remove(acme)
    assert 'data-revokes="true"' in confirm and "Kiwi Garden Supplies Ltd" in confirm
    assert "the grant is revoked at Xero" in done.text
    assert user_connections(xero) == set()


def test_failed_test_marks_the_connection_and_a_later_success_clears_it(
    host: HostApp, xero: Any
) -> None:
    acme = saved_acme(host, xero)
    xero.add_fault({"endpoint": "Organisation", "status": 503, "times": 10})
    page = press_test_connection(acme).text
    assert 'data-testid="attention-banner"' in page and "Needs attention" in page
    assert 'data-state="xero-error"' in page
    with host.app.app_context():
        state = host.db.session.scalars(select(SyncState)).one()
        assert state.last_error == "Xero answered HTTP 503."
        assert state.trouble == "xero-error" and state.trouble_since is not None
    health = acme.get("/integrations/xero/health").text
    assert "Xero answers with errors since" in health and "press Test connection" in health
    xero.reset()  # faults gone
    page = press_test_connection(acme).text
    assert 'data-testid="attention-banner"' not in page and "Connection works" in page
    assert 'data-state="ok"' in page
    with host.app.app_context():
        state = host.db.session.scalars(select(SyncState)).one()
        assert (state.trouble, state.last_error, state.failures) == (None, None, 0)


def rep_panel(host: HostApp) -> str:
    panel = host.client("rep-acme").get("/integrations/xero/panel/account/9")
    assert panel.status_code == 200
    return str(panel.text)


def test_during_a_reconnect_reps_keep_the_cache_with_a_notice(host: HostApp, xero: Any) -> None:
    acme = saved_acme(host, xero)
    page = connect(acme, tenants=[SUPPLIES]).text
    assert 'data-testid="reconnect-pending"' in page
    assert offered(page) == [(SUPPLIES, True)]
    panel = rep_panel(host)
    assert 'data-testid="invoice-row"' in panel
    assert (
        'data-reason="reconnecting">An admin is reconnecting Xero; showing invoices as of' in panel
    )
    save(acme, [SUPPLIES])
    wait_for_background_jobs(host.app)
    assert "reconnecting" not in rep_panel(host)


def test_reps_see_a_calm_notice_while_the_connection_needs_attention(
    host: HostApp, xero: Any
) -> None:
    acme = saved_acme(host, xero)
    xero.add_fault({"endpoint": "Organisation", "status": 503, "times": 10})
    press_test_connection(acme)
    panel = rep_panel(host)
    assert 'data-testid="invoice-row"' in panel
    assert 'data-reason="xero-error">Xero is having trouble right now' in panel
    xero.reset()
    press_test_connection(acme)
    assert 'data-testid="panel-notice"' not in rep_panel(host)


def test_a_sync_that_succeeds_clears_the_attention_too(host: HostApp, xero: Any) -> None:
    acme = saved_acme(host, xero)
    xero.add_fault({"endpoint": "Organisation", "status": 503, "times": 10})
    assert 'data-testid="attention-banner"' in press_test_connection(acme).text
    acme.post("/integrations/xero/refresh", data={"csrf_token": csrf_from(acme.get(SETTINGS).text)})
    wait_for_background_jobs(host.app)
    assert 'data-testid="attention-banner"' not in acme.get(SETTINGS).text
