"""Rate limits and injected faults."""

from __future__ import annotations

import concurrent.futures

import pytest
import requests
from xero_emulator import Emulator

from tests.emulator.helpers import EXAMPLE_TENANT, control


def test_rate_headers_on_every_call(api):
    answer = api("Invoices")
    assert answer.headers["X-MinLimit-Remaining"] == "59"
    assert answer.headers["X-DayLimit-Remaining"] == "4999"
    assert answer.headers["X-AppMinLimit-Remaining"] == "9999"


def test_61st_call_in_a_minute_is_429(api, clock):
    for _ in range(60):
        assert api("Organisation").status_code == 200
        clock.advance(0.5)
    answer = api("Organisation")
    assert answer.status_code == 429
    assert answer.headers["X-Rate-Limit-Problem"] == "minute"


def test_retry_after_counts_to_window_end(api, clock):
    api("Organisation")
    clock.advance(20)
    for _ in range(59):
        api("Organisation")
    answer = api("Organisation")
    assert answer.headers["Retry-After"] == "40"


def test_minute_window_resets(api, clock):
    for _ in range(61):
        api("Organisation")
    clock.advance(60)
    assert api("Organisation").status_code == 200


def test_rate_limited_calls_are_counted(api, emu):
    for _ in range(62):
        api("Organisation")
    stats = emu.stats()["tenants"][EXAMPLE_TENANT]
    assert (stats["calls"], stats["rate_limited"]) == (62, 2)


def test_day_limit(url, api, clock):
    control(url, "limits", {"per_day": 3})
    for _ in range(3):
        api("Organisation")
        clock.advance(61)
    answer = api("Organisation")
    assert answer.status_code == 429 and answer.headers["X-Rate-Limit-Problem"] == "day"


def test_app_minute_limit(clock):
    from tests.emulator.helpers import OTHER_TENANT, example_seed

    emu = Emulator(example_seed(), clock=clock, limits={"app_per_minute": 2})
    server = emu.serve(port=0)
    try:
        token = emu.issue_tokens(user_email="kat@example.test")["access_token"]
        statuses = []
        for tenant in (EXAMPLE_TENANT, OTHER_TENANT, EXAMPLE_TENANT):
            answer = requests.get(
                f"{server.url}/api.xro/2.0/Organisation",
                headers={"Authorization": f"Bearer {token}", "xero-tenant-id": tenant},
                timeout=10,
            )
            statuses.append((answer.status_code, answer.headers.get("X-Rate-Limit-Problem")))
        assert statuses[-1] == (429, "appminute")
    finally:
        server.shutdown()


def test_concurrency_limit(url, api):
    control(url, "faults", {"delay_ms": 400})
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: api("Organisation"), range(6)))
    problems = [a.headers.get("X-Rate-Limit-Problem") for a in answers if a.status_code == 429]
    assert problems == ["concurrent"]


def test_limits_endpoint_changes_minute_limit(url, api):
    control(url, "limits", {"per_minute": 2})
    api("Organisation")
    api("Organisation")
    assert api("Organisation").status_code == 429


def test_limits_endpoint_rejects_unknown_key(url):
    answer = control(url, "limits", {"per_hour": 2})
    assert answer.status_code == 400


def fault(url, **body):
    answer = control(url, "faults", body)
    assert answer.status_code == 200, answer.text


def test_fault_503_organisation_offline(url, api):
    fault(url, endpoint="Invoices", status=503, times=3)
    answer = api("Invoices")
    assert answer.status_code == 503 and answer.text == "Organisation offline"


def test_fault_times_runs_out(url, api):
    fault(url, endpoint="Invoices", status=503, times=2)
    codes = [api("Invoices").status_code for _ in range(3)]
    assert codes == [503, 503, 200]


def test_fault_only_hits_its_endpoint(url, api):
    fault(url, endpoint="Invoices", status=500)
    assert api("Contacts").status_code == 200


def test_fault_500_is_plain_text(url, api):
    fault(url, endpoint="Contacts", status=500)
    answer = api("Contacts")
    assert answer.status_code == 500 and answer.headers["Content-Type"].startswith("text/plain")


def test_fault_token_expired(url, api):
    fault(url, status=401, detail="TokenExpired")
    answer = api("Invoices")
    assert answer.status_code == 401 and answer.json()["Detail"].startswith("TokenExpired")


def test_fault_delay(url, api):
    fault(url, delay_ms=300, times=1)
    answer = api("Organisation")
    assert answer.status_code == 200 and answer.elapsed.total_seconds() >= 0.3


def test_fault_drop_closes_connection(url, api):
    fault(url, drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        api("Invoices")


def test_fault_drop_then_server_still_answers(url, api):
    fault(url, drop=True, times=1)
    with pytest.raises(requests.ConnectionError):
        api("Invoices")
    assert api("Invoices").status_code == 200


def test_fault_revoke_tenant_blocks_api(url, api):
    fault(url, revoke_tenant=EXAMPLE_TENANT)
    answer = api("Invoices")
    assert answer.status_code == 403 and answer.json()["Detail"] == "AuthenticationUnsuccessful"


def test_revoked_tenants_grant_cannot_refresh(url, tokens):
    from tests.emulator.helpers import OTHER_TENANT, token_request

    fault(url, revoke_tenant=EXAMPLE_TENANT)
    fault(url, revoke_tenant=OTHER_TENANT)
    answer = token_request(
        url, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert answer.json()["error"] == "invalid_grant"


def test_fault_on_token_endpoint(url, tokens):
    from tests.emulator.helpers import token_request

    fault(url, endpoint="token", status=503, times=1)
    answer = token_request(
        url, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert answer.status_code == 503


def test_delete_faults_clears(url, api):
    fault(url, endpoint="Invoices", status=503)
    control(url, "faults", method="DELETE")
    assert api("Invoices").status_code == 200


def test_bad_fault_is_400(url):
    answer = control(url, "faults", {"status": 418})
    assert answer.status_code == 400
