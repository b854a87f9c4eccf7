"""The emulator driven in-process: its WSGI app directly, and behind ``responses``."""

from __future__ import annotations

import pytest
import requests
import responses
from werkzeug.test import Client
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Emulator
from xero_emulator.testing import route_xero_to

from tests.emulator.helpers import EXAMPLE_TENANT, example_seed


@pytest.fixture
def local(clock):
    return Emulator(example_seed(), control_enabled=True, clock=clock)


def test_wsgi_app_answers_api(local):
    token = local.issue_tokens(user_email="kat@example.test")["access_token"]
    answer = Client(local.wsgi_app).get(
        "/api.xro/2.0/Organisation",
        headers={"Authorization": f"Bearer {token}", "xero-tenant-id": EXAMPLE_TENANT},
    )
    assert answer.status_code == 200 and answer.json["Organisations"][0]["ShortCode"] == "!mBdtL"


def test_responses_routes_real_xero_urls(local):
    token = local.issue_tokens(user_email="kat@example.test")["access_token"]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_xero_to(local, rsps)
        conns = requests.get(
            "https://api.xero.com/connections",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
    assert EXAMPLE_TENANT in {c["tenantId"] for c in conns.json()}


def test_responses_routes_token_endpoint(local):
    tokens = local.issue_tokens(user_email="kat@example.test")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_xero_to(local, rsps)
        answer = requests.post(
            "https://identity.xero.com/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
            timeout=5,
        )
    assert answer.status_code == 200 and answer.json()["refresh_token"] != tokens["refresh_token"]


def test_responses_drop_fault_is_connection_error(local):
    token = local.issue_tokens(user_email="kat@example.test")["access_token"]
    local.add_fault({"drop": True})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        route_xero_to(local, rsps)
        with pytest.raises(requests.ConnectionError):
            requests.get(
                "https://api.xero.com/api.xro/2.0/Invoices",
                headers={"Authorization": f"Bearer {token}", "xero-tenant-id": EXAMPLE_TENANT},
                timeout=5,
            )
