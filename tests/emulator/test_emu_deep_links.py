"""The emulator stands in for Xero's web app where the panel's invoice links point
(``XERO_PANEL_DEEP_LINK_URL``), so a demo or a test opens them without reaching Xero: Xero's
documented deep links (the ones the panel builds) open a page naming the document; unknown
ones are 404."""

from __future__ import annotations

from typing import Any

import requests


def deep_link(base: str, short_code: str | None, kind: str, xero_id: str) -> str:
    """Xero's deep link into its web app (developer.xero.com, "Deep link to Xero")."""
    if kind == "credit_note":
        path = f"/AccountsReceivable/ViewCreditNote.aspx?creditNoteID={xero_id}"
    else:
        path = f"/AccountsReceivable/View.aspx?InvoiceID={xero_id}"
    if not short_code:
        return f"{base}{path}"
    return f"{base}/organisationlogin/default.aspx?shortcode={short_code}&redirecturl={path}"


def first(sample: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    tenant = sample["tenants"][1]
    return tenant, tenant[kind][0]


def open_link(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


def test_an_invoice_link_with_the_short_code_opens_the_invoice(world, sample):
    _, base, _ = world
    tenant, invoice = first(sample, "Invoices")
    short_code = tenant["Organisation"]["ShortCode"]
    page = open_link(deep_link(base, short_code, "invoice", invoice["InvoiceID"]))
    assert page.status_code == 200
    assert f"<strong data-testid='document-number'>{invoice['InvoiceNumber']}</strong>" in page.text
    assert tenant["tenantName"] in page.text


def test_a_credit_note_link_without_short_code_opens_the_credit_note(world, sample):
    _, base, _ = world
    _, note = first(sample, "CreditNotes")
    page = open_link(deep_link(base, None, "credit_note", note["CreditNoteID"]))
    assert page.status_code == 200
    assert f">{note['CreditNoteNumber']}</strong>" in page.text
    assert "Credit note" in page.text


def test_unknown_or_other_organisations_documents_are_404(world, sample):
    _, base, _ = world
    _, invoice = first(sample, "Invoices")
    other_code = sample["tenants"][0]["Organisation"]["ShortCode"]
    for url in (
        deep_link(base, other_code, "invoice", invoice["InvoiceID"]),
        deep_link(base, None, "invoice", "00000000-0000-0000-0000-000000000000"),
        deep_link(base, None, "invoice", "not-a-uuid"),
        f"{base}/AccountsReceivable/View.aspx",
    ):
        page = open_link(url)
        assert page.status_code == 404, url
