"""The control API's guard: the per-run token, the JSON content type and the origin check,
each refusal changing nothing; the token's sources (argument, XERO_EMULATOR_CONTROL_TOKEN,
made per run) and the CLI printing it while binding to loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests
from xero_emulator import CONTROL_TOKEN_ENV, Emulator
from xero_emulator.__main__ import _loopback, _parser

from tests.emulator.helpers import EXAMPLE_TENANT, control_headers, example_seed, new_invoice


def clock_moved(emu: Emulator) -> bool:
    return emu.clock_offset != 0


def invoices_of(emu: Emulator) -> int:
    return len(emu.tenant(EXAMPLE_TENANT).invoices)


def test_the_probes_text_plain_post_from_another_origin_moves_nothing(url, emu):
    # what an outside page could send without a CORS preflight
    answer = requests.post(
        f"{url}/_emulator/clock",
        data='{"advance_seconds": 86400}',
        headers={"Content-Type": "text/plain", "Origin": "http://evil.test"},
        timeout=10,
    )
    assert answer.status_code == 403 and not clock_moved(emu)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 401),
        ({"Content-Type": "application/json", "X-Emulator-Token": "guess"}, 403),
        ({"Content-Type": "text/plain", "X-Emulator-Token": "TOKEN"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded", "X-Emulator-Token": "TOKEN"}, 415),
        ({"X-Emulator-Token": "TOKEN"}, 415),
        (
            {**{"Content-Type": "application/json", "X-Emulator-Token": "TOKEN"}, "Origin": "null"},
            403,
        ),
        (
            {
                "Content-Type": "application/json",
                "X-Emulator-Token": "TOKEN",
                "Origin": "http://localhost:1",
            },
            403,
        ),
    ],
)
def test_refused_control_requests_change_nothing(url, emu, headers, status):
    headers = {k: (emu.control_token if v == "TOKEN" else v) for k, v in headers.items()}
    for path, body in [
        ("clock", '{"advance_seconds": 100}'),
        (f"tenants/{EXAMPLE_TENANT}/invoices", json.dumps(new_invoice())),
        ("limits", '{"per_minute": 1}'),
        ("tokens", '{"user_email": "kat@example.test"}'),
    ]:
        answer = requests.post(f"{url}/_emulator/{path}", data=body, headers=headers, timeout=10)
        assert answer.status_code == status, (path, answer.text)
        assert "error" in answer.json()
    assert not clock_moved(emu)
    assert invoices_of(emu) == 3
    assert emu.limiter.limits["per_minute"] == 60
    delete = requests.delete(f"{url}/_emulator/faults", headers=headers, timeout=10)
    assert delete.status_code == status


def test_reads_need_the_token_too(url, emu):
    assert requests.get(f"{url}/_emulator/stats", timeout=10).status_code == 401
    wrong = {"X-Emulator-Token": "guess"}
    assert requests.get(f"{url}/_emulator/stats", headers=wrong, timeout=10).status_code == 403
    right = {"X-Emulator-Token": emu.control_token}
    assert requests.get(f"{url}/_emulator/stats", headers=right, timeout=10).status_code == 200


def test_the_right_token_json_and_own_origin_are_served(url, emu):
    headers = {**emu.control_headers(), "Origin": url}
    answer = requests.post(
        f"{url}/_emulator/clock", json={"advance_seconds": 5}, headers=headers, timeout=10
    )
    assert answer.status_code == 200 and emu.clock_offset == 5


def test_the_accounting_api_needs_no_control_token(api):
    assert api("Invoices").status_code == 200


def test_token_from_argument_environment_or_made_per_run(monkeypatch, clock):
    assert Emulator(example_seed(), control_token="given").control_token == "given"
    monkeypatch.setenv(CONTROL_TOKEN_ENV, "from-env")
    assert Emulator(example_seed()).control_token == "from-env"
    monkeypatch.delenv(CONTROL_TOKEN_ENV)
    one, two = Emulator(example_seed()).control_token, Emulator(example_seed()).control_token
    assert one != two and len(one) >= 32


def test_control_headers_carry_the_token():
    emu = Emulator(example_seed(), control_token="t")
    assert emu.control_headers() == {"Content-Type": "application/json", "X-Emulator-Token": "t"}


def test_the_test_helpers_send_the_runs_token(emu):
    assert control_headers()["X-Emulator-Token"] == emu.control_token


def test_cli_binds_loopback_by_default_and_prints_a_made_token():
    assert _parser().parse_args([]).host == "127.0.0.1"
    assert _loopback("127.0.0.1") and _loopback("::1") and _loopback("localhost")
    assert not _loopback("0.0.0.0")  # noqa: S104 and not _loopback("192.168.1.5")
    env = {k: v for k, v in os.environ.items() if k != CONTROL_TOKEN_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "xero_emulator", "--port", "0", "--enable-control"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("control token" in x for x in lines):
            lines.append(proc.stdout.readline())  # type: ignore[union-attr]
        url = next(x for x in lines if x.startswith("Xero emulator running on ")).split()[-1]
        token_line = next(x for x in lines if "control token" in x)
        token = token_line.split(": ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert "WARNING" not in "".join(lines)
        stats = f"{url}/_emulator/stats"
        headers = {"X-Emulator-Token": token}
        assert requests.get(stats, headers=headers, timeout=10).status_code == 200
        assert requests.get(stats, timeout=10).status_code == 401
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
