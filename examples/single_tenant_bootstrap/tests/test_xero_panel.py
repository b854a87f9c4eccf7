"""This CRM with xero-panel: its tests need no Xero app, and connect to the emulator's."""

from __future__ import annotations

from conftest import connect_xero, sign_in

KIWI_NZ = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11"  # the emulator's sample organisation


def test_starts_without_xero_credentials(make_app) -> None:
    app = make_app()
    with app.test_client() as client:
        sign_in(client, "manager@example.test")
        page = client.get("/integrations/xero/settings")
    assert page.status_code == 200
    assert b'data-status="not_configured"' in page.data
    assert b"Xero is not configured" in page.data


def test_the_manager_connects_and_a_rep_sees_only_their_customers(make_app, xero_emulator) -> None:
    app = make_app(**xero_emulator.config)
    with app.test_client() as client:
        sign_in(client, "manager@example.test")
        connect_xero(client, xero_emulator, KIWI_NZ)
    with app.test_client() as client:
        sign_in(client, "rep@example.test")
        own = client.get("/integrations/xero/panel/contact/1")  # Totara Events Group, the rep's
        assert own.status_code == 200
        assert b'data-testid="invoice-row"' in own.data
        assert client.get("/integrations/xero/panel/contact/2").status_code == 404  # the manager's
    assert xero_emulator.emulator.stats()["tenants"][KIWI_NZ]["calls"] > 0
