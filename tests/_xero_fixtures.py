"""Shared test helpers for the Xero client, parsing and rate-budget tests.

``EXAMPLES`` holds verbatim copies of ``shared/xero-examples/*.json`` (response bodies from Xero's
OpenAPI spec), so the tests run from a wheel or sdist too; ``test_xero_types`` checks the copies
against the originals whenever ``shared/`` sits beside the repository.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from xero_panel.exceptions import AuthExpired

SHARED_EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "shared" / "xero-examples"

TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
OTHER_TENANT = "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b"
API = "https://api.xero.com/api.xro/2.0"
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.access-token-one.c2lnbmF0dXJl"
NEW_ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.access-token-two.c2lnbmF0dXJl"

#: 2023-11-14T22:13:20Z: a fixed "now" for fake clocks.
T0 = 1_700_000_000.0

EXAMPLES: dict[str, str] = {
    "connections": r"""[
  {
    "id": "7cb59f93-2964-421d-bb5e-a0f7a4572a44",
    "tenantId": "fe79f7dd-b6d4-4a92-ba7b-538af6289c58",
    "tenantName": "Demo Company (NZ)",
    "tenantType": "ORGANISATION",
    "createdDateUtc": "2019-12-07T18:46:19.5165400",
    "updatedDateUtc": "2019-12-07T18:46:19.5187840"
  }
]
""",
    "contacts_list": r"""{
  "Id": "04e93d48-e72f-4775-b7dd-15a041fab972",
  "Status": "OK",
  "ProviderName": "Xero API Partner",
  "DateTimeUTC": "/Date(1551399323399)/",
  "pagination": {
    "page": 1,
    "pageSize": 100,
    "pageCount": 1,
    "itemCount": 2
  },
  "Contacts": [
    {
      "ContactID": "5cc8cf28-567e-4d43-b287-687cfcaec47c",
      "ContactStatus": "ACTIVE",
      "Name": "Katherine Warren",
      "FirstName": "Katherine",
      "LastName": "Warren",
      "CompanyNumber": "NumberBusiness1234",
      "EmailAddress": "kat.warren@clampett.com",
      "BankAccountDetails": "",
      "TaxNumber": "",
      "TaxNumbeType": "",
      "Addresses": [
        {
          "AddressType": "STREET",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        },
        {
          "AddressType": "POBOX",
          "AddressLine1": "",
          "AddressLine2": "",
          "AddressLine3": "",
          "AddressLine4": "",
          "City": "Palo Alto",
          "Region": "CA",
          "PostalCode": "94020",
          "Country": "United States"
        }
      ],
      "Phones": [
        {
          "PhoneType": "DDI",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "847-1294",
          "PhoneAreaCode": "(626)",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        }
      ],
      "UpdatedDateUTC": "/Date(1503348544227+0000)/",
      "ContactGroups": [],
      "IsSupplier": true,
      "IsCustomer": true,
      "SalesDefaultLineAmountType": "INCLUSIVE",
      "PurchasesDefaultLineAmountType": "INCLUSIVE",
      "Balances": {
        "AccountsReceivable": {
          "Outstanding": 760.00,
          "Overdue": 920.00
        },
        "AccountsPayable": {
          "Outstanding": 231.60,
          "Overdue": 360.00
        }
      },
      "ContactPersons": [],
      "HasAttachments": false,
      "HasValidationErrors": false
    },
    {
      "ContactID": "3ec601ad-eddc-4ccb-a8ac-736e88293b1b",
      "ContactStatus": "ACTIVE",
      "Name": "Lisa Parker",
      "FirstName": "Lisa",
      "LastName": "Parker",
      "EmailAddress": "lparker@parkerandco.com",
      "BankAccountDetails": "",
      "TaxNumber": "",
      "TaxNumbeType": "",
      "Addresses": [
        {
          "AddressType": "STREET",
          "City": "",
          "Region": "",
          "PostalCode": "",
          "Country": ""
        },
        {
          "AddressType": "POBOX",
          "AddressLine1": "",
          "AddressLine2": "",
          "AddressLine3": "",
          "AddressLine4": "",
          "City": "Anchorage",
          "Region": "AK",
          "PostalCode": "99501",
          "Country": "United States"
        }
      ],
      "Phones": [
        {
          "PhoneType": "DDI",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "DEFAULT",
          "PhoneNumber": "266-3583",
          "PhoneAreaCode": "(510)",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "FAX",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        },
        {
          "PhoneType": "MOBILE",
          "PhoneNumber": "",
          "PhoneAreaCode": "",
          "PhoneCountryCode": ""
        }
      ],
      "UpdatedDateUTC": "/Date(1503348546760+0000)/",
      "ContactGroups": [],
      "IsSupplier": false,
      "IsCustomer": false,
      "ContactPersons": [],
      "HasAttachments": false,
      "HasValidationErrors": false
    }
  ]
}
""",
    "credit_notes_list": r"""{
  "Id": "306379b0-3d75-4c77-953a-be08fa0efae8",
  "Status": "OK",
  "ProviderName": "Provider Name Example",
  "DateTimeUTC": "/Date(1551812506620)/",
  "pagination": {
    "page": 1,
    "pageSize": 100,
    "pageCount": 1,
    "itemCount": 2
  },
  "CreditNotes": [
    {
      "CreditNoteID": "249f15fa-f2a7-4acc-8769-0984103f2225",
      "CreditNoteNumber": "CN-0005",
      "Payments": [
        {
          "PaymentID": "6b037c9b-2e5d-4905-84d3-eabfb3438242",
          "Date": "/Date(1552521600000+0000)/",
          "Amount": 2.00,
          "Reference": "Too much",
          "CurrencyRate": 1.000000,
          "HasAccount": false,
          "HasValidationErrors": false
        }
      ],
      "ID": "249f15fa-f2a7-4acc-8769-0984103f2225",
      "CurrencyRate": 1.000000,
      "Type": "ACCRECCREDIT",
      "Reference": "US Tour",
      "RemainingCredit": 32.50,
      "Allocations": [],
      "HasAttachments": true,
      "Contact": {
        "ContactID": "430fa14a-f945-44d3-9f97-5df5e28441b8",
        "Name": "Liam Gallagher",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "HasValidationErrors": false
      },
      "DateString": "2019-03-05T00:00:00",
      "Date": "/Date(1551744000000+0000)/",
      "Status": "AUTHORISED",
      "LineAmountTypes": "Exclusive",
      "LineItems": [],
      "SubTotal": 30.00,
      "TotalTax": 4.50,
      "Total": 34.50,
      "UpdatedDateUTC": "/Date(1551812346157+0000)/",
      "UpdatedDateUTCString": "2019-03-05T18:59:06Z",
      "CurrencyCode": "NZD"
    },
    {
      "CreditNoteID": "f8021bd2-9a6a-4c19-8477-163da0b9290f",
      "CreditNoteNumber": "",
      "Payments": [],
      "ID": "f8021bd2-9a6a-4c19-8477-163da0b9290f",
      "CurrencyRate": 1.000000,
      "Type": "ACCPAYCREDIT",
      "Reference": "",
      "RemainingCredit": 46.00,
      "Allocations": [],
      "HasAttachments": false,
      "Contact": {
        "ContactID": "430fa14a-f945-44d3-9f97-5df5e28441b8",
        "Name": "Liam Gallagher",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "HasValidationErrors": false
      },
      "DateString": "2019-01-05T00:00:00",
      "Date": "/Date(1546646400000+0000)/",
      "Status": "DRAFT",
      "LineAmountTypes": "Exclusive",
      "LineItems": [],
      "SubTotal": 40.00,
      "TotalTax": 6.00,
      "Total": 46.00,
      "UpdatedDateUTC": "/Date(1551812506153+0000)/",
      "UpdatedDateUTCString": "2019-03-05T19:01:46Z",
      "CurrencyCode": "NZD"
    }
  ]
}
""",
    "invoices_list": r"""{
  "Id": "900c500b-e83c-4ce2-902a-b8ba04751748",
  "Status": "OK",
  "ProviderName": "Provider Name Example",
  "DateTimeUTC": "/Date(1552326816230)/",
  "pagination": {
    "page": 1,
    "pageSize": 100,
    "pageCount": 1,
    "itemCount": 3
  },
  "Invoices": [
    {
      "Type": "ACCREC",
      "InvoiceID": "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2",
      "InvoiceNumber": "INV-0001",
      "Reference": "Red Fish, Blue Fish",
      "Payments": [],
      "CreditNotes": [],
      "Prepayments": [],
      "Overpayments": [],
      "AmountDue": 0.00,
      "AmountPaid": 0.00,
      "AmountCredited": 0.00,
      "SentToContact": true,
      "CurrencyRate": 1.000000,
      "HasErrors": false,
      "IsDiscounted": false,
      "HasAttachments": false,
      "RepeatingInvoiceID": "428c0d75-909f-4b04-8403-a48dc27283b0",
      "Contact": {
        "ContactID": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7",
        "Name": "Barney Rubble-83203",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "HasValidationErrors": false
      },
      "DateString": "2018-10-20T00:00:00",
      "Date": "/Date(1539993600000+0000)/",
      "DueDateString": "2018-12-30T00:00:00",
      "DueDate": "/Date(1546128000000+0000)/",
      "Status": "VOIDED",
      "LineAmountTypes": "Exclusive",
      "LineItems": [],
      "SubTotal": 40.00,
      "TotalTax": 0.00,
      "Total": 40.00,
      "UpdatedDateUTC": "/Date(1541176290160+0000)/",
      "UpdatedDateUTCString": "2018-11-02T16:31:30Z",
      "CurrencyCode": "NZD"
    },
    {
      "Type": "ACCREC",
      "InvoiceID": "046d8a6d-1ae1-4b4d-9340-5601bdf41b87",
      "InvoiceNumber": "INV-0002",
      "Reference": "Red Fish, Blue Fish",
      "Payments": [
        {
          "PaymentID": "99ea7f6b-c513-4066-bc27-b7c65dcd76c2",
          "Date": "/Date(1543449600000+0000)/",
          "Amount": 46.00,
          "CurrencyRate": 1.000000,
          "HasAccount": false,
          "HasValidationErrors": false
        }
      ],
      "CreditNotes": [],
      "Prepayments": [],
      "Overpayments": [],
      "AmountDue": 0.00,
      "AmountPaid": 46.00,
      "AmountCredited": 0.00,
      "SentToContact": true,
      "CurrencyRate": 1.000000,
      "HasErrors": false,
      "IsDiscounted": false,
      "HasAttachments": false,
      "Contact": {
        "ContactID": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7",
        "Name": "Barney Rubble-83203",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "HasValidationErrors": false
      },
      "DateString": "2018-10-20T00:00:00",
      "Date": "/Date(1539993600000+0000)/",
      "DueDateString": "2018-12-30T00:00:00",
      "DueDate": "/Date(1546128000000+0000)/",
      "Status": "PAID",
      "LineAmountTypes": "Exclusive",
      "LineItems": [],
      "SubTotal": 40.00,
      "TotalTax": 6.00,
      "Total": 46.00,
      "UpdatedDateUTC": "/Date(1541176592690+0000)/",
      "UpdatedDateUTCString": "2018-11-02T16:36:32Z",
      "CurrencyCode": "NZD",
      "FullyPaidOnDate": "/Date(1543449600000+0000)/"
    },
    {
      "Type": "ACCREC",
      "InvoiceID": "7ef31b20-de17-4312-8382-412f869b1510",
      "InvoiceNumber": "INV-0003",
      "Reference": "",
      "Payments": [],
      "CreditNotes": [],
      "Prepayments": [],
      "Overpayments": [],
      "AmountDue": 115.00,
      "AmountPaid": 0.00,
      "AmountCredited": 0.00,
      "CurrencyRate": 1.000000,
      "HasErrors": false,
      "IsDiscounted": false,
      "HasAttachments": false,
      "Contact": {
        "ContactID": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7",
        "Name": "Barney Rubble-83203",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "HasValidationErrors": false
      },
      "DateString": "2018-11-02T00:00:00",
      "Date": "/Date(1541116800000+0000)/",
      "DueDateString": "2018-11-07T00:00:00",
      "DueDate": "/Date(1541548800000+0000)/",
      "Status": "AUTHORISED",
      "LineAmountTypes": "Exclusive",
      "LineItems": [],
      "SubTotal": 100.00,
      "TotalTax": 15.00,
      "Total": 115.00,
      "UpdatedDateUTC": "/Date(1541176648927+0000)/",
      "UpdatedDateUTCString": "2018-11-02T16:37:28Z",
      "CurrencyCode": "NZD"
    }
  ]
}
""",
    "online_invoice": r"""{
  "Id": "d20705fb-fe1c-4366-835b-98de7474da3c",
  "Status": "OK",
  "ProviderName": "Provider Name Example",
  "DateTimeUTC": "/Date(1552331100745)/",
  "OnlineInvoices": [
    {
      "OnlineInvoiceUrl": "https://in.xero.com/bCWCCfytGdTXoJam9HENWlQt07G6zcDaj4gQojHu"
    }
  ]
}
""",
    "organisation": r"""{
  "Id": "27b7a645-a3ee-43c8-b2c6-a2fa7b84c8c5",
  "Status": "OK",
  "ProviderName": "Provider Name Example",
  "DateTimeUTC": "/Date(1552404447003)/",
  "Organisations": [
    {
      "APIKey": "CTJ60UH519MXQIXEJSDPDALS3EOZ5Y",
      "Name": "Dev Evangelist - Sid Test 3 (NZ-2016-02)",
      "LegalName": "Dev Evangelist - Sid Test 3 (NZ-2016-02)",
      "PaysTax": true,
      "Version": "NZ",
      "OrganisationType": "COMPANY",
      "BaseCurrency": "NZD",
      "CountryCode": "NZ",
      "IsDemoCompany": false,
      "OrganisationStatus": "ACTIVE",
      "TaxNumber": "071-138-054",
      "FinancialYearEndDay": 31,
      "FinancialYearEndMonth": 3,
      "SalesTaxBasis": "PAYMENTS",
      "SalesTaxPeriod": "TWOMONTHS",
      "DefaultSalesTax": "Tax Exclusive",
      "DefaultPurchasesTax": "Tax Exclusive",
      "PeriodLockDate": "/Date(1546214400000+0000)/",
      "EndOfYearLockDate": "/Date(1546214400000+0000)/",
      "CreatedDateUTC": "/Date(1455827393000)/",
      "OrganisationEntityType": "COMPANY",
      "Timezone": "NEWZEALANDSTANDARDTIME",
      "ShortCode": "!mBdtL",
      "OrganisationID": "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b",
      "Edition": "BUSINESS",
      "Class": "PREMIUM",
      "Addresses": [],
      "Phones": [],
      "ExternalLinks": [],
      "PaymentTerms": {}
    }
  ]
}
""",
    "payments_list": r"""{
  "Id": "9f310473-e1b5-4704-a25c-eec653deb596",
  "Status": "OK",
  "ProviderName": "Provider Name Example",
  "DateTimeUTC": "/Date(1552431874205)/",
  "pagination": {
    "page": 1,
    "pageSize": 100,
    "pageCount": 1,
    "itemCount": 2
  },
  "Payments": [
    {
      "PaymentID": "99ea7f6b-c513-4066-bc27-b7c65dcd76c2",
      "BatchPaymentID": "b54aa50c-794c-461b-89d1-846e1b84d9c0",
      "BatchPayment": {
        "Account": {
          "AccountID": "5690f1e8-1d02-4893-90c2-ee1a69eff942"
        },
        "BatchPaymentID": "b54aa50c-794c-461b-89d1-846e1b84d9c0",
        "Date": "/Date(1552521600000+0000)/",
        "Type": "RECBATCH",
        "Status": "AUTHORISED",
        "TotalAmount": "50.00",
        "UpdatedDateUTC": "/Date(1541176592690+0000)/",
        "IsReconciled": "false"
      },
      "Date": "/Date(1543449600000+0000)/",
      "BankAmount": 46.00,
      "Amount": 46.00,
      "Reference": "",
      "CurrencyRate": 1.000000,
      "PaymentType": "ACCRECPAYMENT",
      "Status": "AUTHORISED",
      "UpdatedDateUTC": "/Date(1541176592690+0000)/",
      "UpdatedDateUTCString": "2018-11-02T16:36:32Z",
      "HasAccount": true,
      "IsReconciled": false,
      "Account": {
        "AccountID": "5690f1e8-1d02-4893-90c2-ee1a69eff942",
        "Code": "970"
      },
      "Invoice": {
        "Type": "ACCREC",
        "InvoiceID": "046d8a6d-1ae1-4b4d-9340-5601bdf41b87",
        "InvoiceNumber": "INV-0002",
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "HasErrors": false,
        "IsDiscounted": false,
        "Contact": {
          "ContactID": "a3675fc4-f8dd-4f03-ba5b-f1870566bcd7",
          "ContactNumber": "",
          "Name": "Barney Rubble-83203",
          "Addresses": [],
          "Phones": [],
          "ContactGroups": [],
          "ContactPersons": [],
          "HasValidationErrors": false
        },
        "LineItems": [],
        "CurrencyCode": "NZD"
      },
      "HasValidationErrors": false
    },
    {
      "PaymentID": "6b037c9b-2e5d-4905-84d3-eabfb3438242",
      "Date": "/Date(1552521600000+0000)/",
      "BankAmount": 2.00,
      "Amount": 2.00,
      "Reference": "Too much",
      "CurrencyRate": 1.000000,
      "PaymentType": "ARCREDITPAYMENT",
      "Status": "AUTHORISED",
      "UpdatedDateUTC": "/Date(1551812346173+0000)/",
      "UpdatedDateUTCString": "2019-03-05T18:59:06Z",
      "HasAccount": true,
      "IsReconciled": false,
      "Account": {
        "AccountID": "136ebd08-60ea-4592-8982-be92c153b53a",
        "Code": "980"
      },
      "Invoice": {
        "Type": "ACCRECCREDIT",
        "InvoiceID": "249f15fa-f2a7-4acc-8769-0984103f2225",
        "InvoiceNumber": "CN-0005",
        "Payments": [],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "HasErrors": false,
        "IsDiscounted": false,
        "Contact": {
          "ContactID": "430fa14a-f945-44d3-9f97-5df5e28441b8",
          "ContactNumber": "",
          "Name": "Liam Gallagher",
          "Addresses": [],
          "Phones": [],
          "ContactGroups": [],
          "ContactPersons": [],
          "HasValidationErrors": false
        },
        "LineItems": [],
        "CurrencyCode": "NZD"
      },
      "HasValidationErrors": false
    }
  ]
}
""",
    "webhook_contact_update": r"""{
  "events": [
    {
      "resourceUrl": "https://api.xero.com/api.xro/2.0/Contacts/717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
      "resourceId": "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
      "eventDateUtc": "2024-06-21T01:15:39.902",
      "eventType": "UPDATE",
      "eventCategory": "CONTACT",
      "tenantId": "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",
      "tenantType": "ORGANISATION"
    }
  ],
  "lastEventSequence": 1,
  "firstEventSequence": 1,
  "entropy": "S0m3r4Nd0mt3xt"
}
""",
    "webhook_creditnote_create": r"""{
  "events": [
    {
      "resourceUrl": "https://api.xero.com/api.xro/2.0/CreditNotes/55d84274-a3da-4829-a7c0-0cab601b95cc",
      "resourceId": "55d84274-a3da-4829-a7c0-0cab601b95cc",
      "tenantId": "aef86862-2015-4b6b-88bc-d89032cecc50",
      "tenantType": "ORGANISATION",
      "eventCategory": "CREDITNOTE",
      "eventType": "CREATE",
      "eventDateUtc": "2025-12-02T00:44:09.923",
      "data": {
        "Type": "ACCPAYCREDIT",
        "Status": "DRAFT"
      }
    }
  ],
  "firstEventSequence": 76,
  "lastEventSequence": 76,
  "entropy": "FXNGWLCCGVANWHKILRUB"
}
""",
}


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
    """A :class:`~xero_panel.client.TokenSource` that records refreshes."""

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


REQUIRE_SERVICES = os.environ.get("XP_TEST_REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("XP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_client() -> Iterator[Any]:
    """A Redis client; skipped if Redis is unreachable (fails under XP_TEST_REQUIRE_SERVICES=1)."""
    if not _redis_reachable(REDIS_URL):
        message = f"Redis is not reachable at {REDIS_URL}"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}, and XP_TEST_REQUIRE_SERVICES=1 makes that a failure")
        pytest.skip(message)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        client.close()
        client.connection_pool.disconnect()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A random key prefix; every key under it is deleted after the test."""
    prefix = f"xp_test_{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            redis_client.delete(*keys)
