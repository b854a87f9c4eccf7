"""This CRM with xero-panel: its tests need no Xero app, and connect to the emulator's."""

from __future__ import annotations

from conftest import connect_xero, sign_in

KIWI_NZ = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7a9c0d11"  # the emulator's sample organisation


def test_starts_without_xero_credentials(make_app) -> None:
    app = make_app()
    with app.test_client() as client:
        sign_in(client, "admin@kiwi.test")
        page = client.get("/integrations/xero/settings")
    assert page.status_code == 200
    assert b'data-status="not_configured"' in page.data


def test_each_company_connects_its_own_xero(make_app, xero_emulator) -> None:
    app = make_app(**xero_emulator.config)
    with app.test_client() as client:
        sign_in(client, "admin@kiwi.test")
        connect_xero(client, xero_emulator, KIWI_NZ)
        panel = client.get("/integrations/xero/panel/contact/1")  # Kiwi Garden's contact
        assert panel.status_code == 200
        assert b'data-testid="invoice-row"' in panel.data
        assert client.get("/integrations/xero/panel/contact/2").status_code == 404  # Harbour's
    with app.test_client() as client:
        sign_in(client, "admin@harbour.test")  # another company: not connected
        page = client.get("/integrations/xero/settings")
        assert b'data-status="not_connected"' in page.data
