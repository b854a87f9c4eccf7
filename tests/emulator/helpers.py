"""Helpers for the emulator's tests: a seed made of Xero's own example bodies, a fake clock,
the OAuth flow walked the way a browser would, a webhook receiver and control calls.
:mod:`tests.emulator.conftest` builds the fixtures from them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response
from xero_emulator import (
    CONTROL_TOKEN_ENV,
    CONTROL_TOKEN_HEADER,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
)
from xero_emulator.sample_seed import SAMPLE_TENANT_IDS

EXAMPLES = Path(__file__).parent.parent / "fixtures" / "xero-examples"
SAMPLE_DAY = dt.date(2026, 7, 1)
REDIRECT = "http://127.0.0.1:5000/integrations/xero/callback"
SCOPE = (
    "openid profile email offline_access accounting.invoices.read "
    "accounting.contacts.read accounting.settings.read"
)
EXAMPLE_TENANT = "b2c885a9-4bb9-4a00-9b6e-6c2bf60b1a2b"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


def example(name: str) -> Any:
    """One of Xero's example bodies, with exact Decimals."""
    return json.loads((EXAMPLES / name).read_text(), parse_float=Decimal)


class FakeClock:
    """A clock the tests move by hand."""

    def __init__(self, start: float = 1_782_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def example_seed() -> dict[str, Any]:
    """A seed built from the spec's examples: one organisation with their contacts,
    invoices and credit notes, a second small organisation, and two users."""
    org = example("organisation.json")["Organisations"][0]
    return {
        "users": [
            {
                "email": "kat@example.test",
                "password": "pw-kat",
                "given_name": "Katherine",
                "family_name": "Warren",
                "tenants": [EXAMPLE_TENANT, OTHER_TENANT],
            },
            {
                "email": "solo@example.test",
                "password": "pw-solo",
                "given_name": "Solo",
                "family_name": "User",
                "tenants": [OTHER_TENANT],
            },
        ],
        "clients": [
            {
                "client_id": "third-party",
                "client_secret": "third-secret",
                "redirect_uris": ["https://crm.example.test/callback"],
                "name": "Third Party CRM",
            }
        ],
        "tenants": [
            {
                "tenantId": EXAMPLE_TENANT,
                "tenantName": org["Name"],
                "tenantType": "ORGANISATION",
                "Organisation": org,
                "Contacts": example("contacts_list.json")["Contacts"],
                "Invoices": example("invoices_list.json")["Invoices"],
                "CreditNotes": example("credit_notes_list.json")["CreditNotes"],
            },
            {
                "tenantId": OTHER_TENANT,
                "tenantName": "Other Org Ltd",
                "Contacts": [{"ContactID": "0b7d1c39-8f0e-4f4e-9a53-7c3f2d0b9a10", "Name": "Ana"}],
            },
        ],
    }


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "st-123",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def login(
    url: str,
    params: dict[str, str],
    email: str = "kat@example.test",
    password: str = "pw-kat",
) -> requests.Response:
    """Submit the login form; the answer is the consent page."""
    return requests.post(
        f"{url}/identity/connect/authorize",
        data={**params, "step": "login", "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )


def ticket_of(page: str) -> str:
    match = re.search(r"name='ticket' value='([^']+)'", page)
    assert match, "no login ticket on the consent page"
    return match.group(1)


def consent(
    url: str, params: dict[str, str], ticket: str, tenants: list[str], action: str = "allow"
) -> requests.Response:
    return requests.post(
        f"{url}/identity/connect/authorize",
        data={**params, "step": "consent", "ticket": ticket, "tenant": tenants, "action": action},
        allow_redirects=False,
        timeout=10,
    )


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(url: str, params: dict[str, str], tenants: list[str] | None = None) -> str:
    """Log in and allow access; returns the authorization code."""
    page = login(url, params)
    answer = consent(url, params, ticket_of(page.text), tenants or [EXAMPLE_TENANT])
    assert answer.status_code == 302
    return query_of(answer.headers["Location"])["code"]


def token_request(
    url: str, data: dict[str, str], auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.post(
        f"{url}/identity/connect/token",
        data=data,
        auth=auth or (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=10,
    )


def exchange(url: str, code: str, **extra: str) -> requests.Response:
    """Exchange an authorization code at the token endpoint (as the demo client)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    return token_request(url, data)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def connections(
    url: str, access_token: str, params: dict[str, str] | None = None
) -> requests.Response:
    """``GET /connections`` with a bearer token."""
    return requests.get(
        f"{url}/connections", params=params, headers=bearer(access_token), timeout=10
    )


class Receiver:
    """A small webhook receiver that checks Xero's signature like a real one must."""

    def __init__(self, key: str, status_override: int | None = None) -> None:
        self.key = key
        self.status_override = status_override
        self.bodies: list[bytes] = []
        self.verified: list[bool] = []
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.socket.getsockname()[1]}/webhooks"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        expected = base64.b64encode(
            hmac.new(self.key.encode(), body, hashlib.sha256).digest()
        ).decode()
        ok = secrets.compare_digest(expected, request.headers.get("x-xero-signature", ""))
        self.bodies.append(body)
        self.verified.append(ok)
        status = self.status_override or (200 if ok else 401)
        return Response(b"", status=status)(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def api_getter(url: str, access_token: str, tenant: str) -> Callable[..., requests.Response]:
    """A function that GETs an Accounting API path as ``tenant`` (overridable per call)."""

    def get(
        path: str,
        params: dict[str, Any] | None = None,
        tenant: str = tenant,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> requests.Response:
        return requests.get(
            f"{url}/api.xro/2.0/{path}",
            params=params,
            headers={
                "Authorization": f"Bearer {token or access_token}",
                "xero-tenant-id": tenant,
                "Accept": "application/json",
                **(headers or {}),
            },
            timeout=10,
        )

    return get


# -- the sample world (test_emu_accounting, test_emu_filters) ----------------------------------

#: The first sample organisation, which the sample world's API calls use.
T1 = SAMPLE_TENANT_IDS[0]


def invoices(world, **where):
    emu = world[0]
    return [
        i for i in emu.tenant(T1).invoices.values() if all(i.get(k) == v for k, v in where.items())
    ]


def all_pages(get, path, params, key):
    out, page = [], 1
    while True:
        body = get(path, {**params, "page": page}).json()
        out.extend(body[key])
        if page >= body["pagination"]["pageCount"]:
            return out, body["pagination"]
        page += 1


# -- control endpoints and webhooks (test_emu_control, test_emu_webhooks) ---------------------

CONTACT = "5cc8cf28-567e-4d43-b287-687cfcaec47c"
OPEN_INVOICE = "7ef31b20-de17-4312-8382-412f869b1510"  # INV-0003, AUTHORISED, 115.00 due
KEY = "webhook-key-123"


def control_headers() -> dict[str, str]:
    """What a control request carries: the JSON content type and the run's control token
    (``XERO_EMULATOR_CONTROL_TOKEN``, set for the whole test run by ``tests/conftest.py``,
    so every emulator the tests make has it)."""
    return {"Content-Type": "application/json", CONTROL_TOKEN_HEADER: os.environ[CONTROL_TOKEN_ENV]}


def control(url, path, body=None, method="POST"):
    """A control request (``POST`` with a JSON body unless ``method`` says otherwise)."""
    return requests.request(
        method,
        f"{url}/_emulator/{path}",
        json=(body or {}) if method == "POST" else None,
        headers=control_headers(),
        timeout=10,
    )


def control_get(url, path):
    """``GET`` a control endpoint."""
    return control(url, path, method="GET")


def new_invoice(**extra):
    return {
        "Type": "ACCREC",
        "Contact": {"ContactID": CONTACT},
        "Date": "2026-06-01",
        "DueDate": "2026-06-30",
        "Status": "AUTHORISED",
        "LineItems": [
            {
                "Description": "Thing",
                "Quantity": 2,
                "UnitAmount": 50,
                "LineAmount": 100,
                "TaxAmount": 15,
            }
        ],
        **extra,
    }
