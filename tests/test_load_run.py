"""The bounded load run of ``benchmarks/load_run.py`` as a test: 100 clients for 60 s on
loopback against gunicorn (4 workers) on PostgreSQL and Redis with an RQ worker. It passes with
0 errors and Xero calls within the budget. It takes over a minute, so it runs only with
``XP_LOAD=1`` (``XP_LOAD=1 .venv/bin/pytest tests/test_load_run.py``); it needs ``wrk``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, REDIS_URL, require_service

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.load


def test_load_run_has_no_errors_and_stays_within_the_xero_budget() -> None:
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    require_service("Redis", REDIS_URL, 6379)
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/load_run.py",
            "--database-url",
            POSTGRES_URL,
            "--redis-url",
            REDIS_URL,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
