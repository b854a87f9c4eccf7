"""One Xero user who signs in twice for the same app (two CRM accounts of one host): what
Xero keeps per user and organisation, and what DELETE /connections and revocation remove."""

from __future__ import annotations

import requests
from xero_emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from xero_emulator.tokens import decode_unverified

from tests.emulator.helpers import EXAMPLE_TENANT, OTHER_TENANT, bearer, connections

KAT = "kat@example.test"


def event_of(tokens):
    return decode_unverified(tokens["access_token"])["authentication_event_id"]


def organisation(url, tokens, tenant):
    return requests.get(
        f"{url}/api.xro/2.0/Organisation",
        headers={**bearer(tokens["access_token"]), "xero-tenant-id": tenant},
        timeout=10,
    )


def revoke(url, refresh_token):
    return requests.post(
        f"{url}/connect/revocation",
        data={"token": refresh_token},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=10,
    )


def test_second_sign_in_adds_a_connection_under_its_own_auth_event(url, emu):
    first = emu.issue_tokens(user_email=KAT, tenant_ids=[EXAMPLE_TENANT])
    second = emu.issue_tokens(user_email=KAT, tenant_ids=[OTHER_TENANT])
    listed = connections(url, second["access_token"]).json()
    assert {c["tenantId"]: c["authEventId"] for c in listed} == {
        EXAMPLE_TENANT: event_of(first),
        OTHER_TENANT: event_of(second),
    }
    only_second = connections(url, second["access_token"], {"authEventId": event_of(second)})
    assert [c["tenantId"] for c in only_second.json()] == [OTHER_TENANT]
    # Connections belong to the user, not to a grant: either token reaches both organisations.
    assert organisation(url, first, OTHER_TENANT).status_code == 200
    assert organisation(url, second, EXAMPLE_TENANT).status_code == 200


def test_delete_connection_removes_one_organisation_and_keeps_both_grants(url, emu):
    first = emu.issue_tokens(user_email=KAT, tenant_ids=[EXAMPLE_TENANT])
    second = emu.issue_tokens(user_email=KAT, tenant_ids=[OTHER_TENANT])
    other = next(
        c for c in connections(url, second["access_token"]).json() if c["tenantId"] == OTHER_TENANT
    )
    answer = requests.delete(
        f"{url}/connections/{other['id']}", headers=bearer(second["access_token"]), timeout=10
    )
    assert answer.status_code == 204
    assert organisation(url, first, EXAMPLE_TENANT).status_code == 200
    assert organisation(url, second, EXAMPLE_TENANT).status_code == 200
    assert organisation(url, first, OTHER_TENANT).status_code == 403


def test_revoking_one_sign_in_removes_every_connection_and_the_other_grant(url, emu):
    first = emu.issue_tokens(user_email=KAT, tenant_ids=[EXAMPLE_TENANT])
    second = emu.issue_tokens(user_email=KAT, tenant_ids=[OTHER_TENANT])
    assert revoke(url, second["refresh_token"]).status_code == 200
    assert emu.identity.book.of_user(DEMO_CLIENT_ID, KAT) == []
    assert organisation(url, first, EXAMPLE_TENANT).status_code == 401
    refreshed = requests.post(
        f"{url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        timeout=10,
    )
    assert refreshed.json()["error"] == "invalid_grant"
