"""Xero's OAuth scopes: the ones the emulator accepts and the ones each API resource needs.

Xero lists its scopes at https://developer.xero.com/documentation/guides/oauth2/scopes/.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_SCOPE",
    "DISCOVERY_SCOPES",
    "ENDPOINT_SCOPES",
    "KNOWN_SCOPES",
]

KNOWN_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.banktransactions",
        "accounting.banktransactions.read",
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "accounting.classicexpenses",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.attachments",
        "accounting.attachments.read",
        "accounting.reports.read",
        "accounting.reports.aged.read",
        "accounting.reports.balancesheet.read",
        "accounting.reports.profitandloss.read",
        "accounting.reports.tenninetynine.read",
        "accounting.journals.read",
        "accounting.budgets.read",
        "paymentservices",
    }
)

#: The scope :meth:`Emulator.issue_tokens` grants unless told otherwise.
DEFAULT_SCOPE = (
    "openid profile email offline_access accounting.invoices.read accounting.payments.read "
    "accounting.contacts.read accounting.settings.read"
)

_INVOICE_SCOPES = frozenset(
    {
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.transactions",
        "accounting.transactions.read",
    }
)

#: Any one of these scopes opens the Accounting API resource.
ENDPOINT_SCOPES: dict[str, frozenset[str]] = {
    "Invoices": _INVOICE_SCOPES,
    "CreditNotes": _INVOICE_SCOPES,
    "Contacts": frozenset({"accounting.contacts", "accounting.contacts.read"}),
    "Organisation": frozenset({"accounting.settings", "accounting.settings.read"}),
}

#: ``scopes_supported`` of the OpenID discovery document.
DISCOVERY_SCOPES = sorted({"openid", "profile", "email", "offline_access"} | _INVOICE_SCOPES)
