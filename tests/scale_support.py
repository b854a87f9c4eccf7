"""The scale-out tests' host: PostgreSQL, Redis locks and rate budget, and a real RQ worker
subprocess (``flask xero-panel worker``), against the emulator (tests/test_sync_scale_out.py,
tests/test_sync_resume.py).

The worker subprocess builds the same host app from :func:`worker_app`, configured through
``XP_SCALE_*`` environment variables.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests._sync_support import SyncHost
from tests.conftest import REDIS_URL, TEST_KEY, require_service

TESTS = Path(__file__).parent
URL = "/integrations/xero/webhooks"
KEY = "scale-webhook-key"
FLASK = (sys.executable, "-m", "flask")


def worker_app() -> Any:
    """The host app as the worker subprocess builds it (from the environment)."""
    from tests.conftest import build_host_from_env

    env = os.environ
    host = build_host_from_env(
        "XP_SCALE",
        XERO_PANEL_RQ_QUEUE=env["XP_SCALE_QUEUE"],
        XERO_PANEL_WEBHOOK_KEY=KEY,
        XERO_PANEL_SYNC_PAGE_SIZE=int(env.get("XP_SCALE_PAGE_SIZE", "1000")),
    )
    scheduler = host.app.extensions["xero_panel"].scheduler
    if "XP_SCALE_LOCK_TTL" in env:  # how soon a killed worker's locks expire
        scheduler.jobs.lock_ttl = float(env["XP_SCALE_LOCK_TTL"])
    if "XP_SCALE_WORKER_GONE_AFTER" in env:  # how soon RQ forgets a killed worker
        from xero_panel.sync import rq_worker

        rq_worker.SyncWorker.gone_after = int(env["XP_SCALE_WORKER_GONE_AFTER"])
        rq_worker.SyncWorker.beat_every = rq_worker.SyncWorker.gone_after / 3
        rq_worker.MAINTENANCE_EVERY = rq_worker.SyncWorker.gone_after
    if "XP_SCALE_WEBHOOK_RETRY_BASE" in env:
        scheduler.webhook_retries.base = float(env["XP_SCALE_WEBHOOK_RETRY_BASE"])
    return host.app


class Scale:
    def __init__(
        self,
        make_host: Callable[..., Any],
        database_url: str,
        n: int,
        *,
        worker_env: dict[str, str] | None = None,
        **config: Any,
    ) -> None:
        require_service("Redis", REDIS_URL, 6379)
        self.prefix = f"xp-scale-{uuid.uuid4().hex[:8]}:"
        self.queue = f"xp-scale-{uuid.uuid4().hex[:8]}"
        self.h = SyncHost(
            make_host,
            database_url,
            n_invoices=n,
            webhook_key=KEY,
            tenant_id=str(uuid.uuid4()),
            XERO_PANEL_REDIS_URL=REDIS_URL,
            XERO_PANEL_REDIS_PREFIX=self.prefix,
            XERO_PANEL_RQ_QUEUE=self.queue,
            XERO_PANEL_SYNC_WAIT=10,
            **config,
        )
        self.env = {
            **os.environ,
            "PYTHONPATH": str(TESTS.parent),
            "XP_SCALE_DB": database_url,
            "XP_SCALE_KEY": TEST_KEY,
            "XP_SCALE_EMULATOR": self.h.emulator_server.url,
            "XP_SCALE_REDIS": REDIS_URL,
            "XP_SCALE_PREFIX": self.prefix,
            "XP_SCALE_QUEUE": self.queue,
            **(worker_env or {}),
        }
        self.worker = self.start_worker()

    def start_worker(self) -> subprocess.Popen[bytes]:
        """A ``flask xero-panel worker`` subprocess on this queue."""
        return subprocess.Popen(
            [*FLASK, "--app", "tests.scale_support:worker_app", "xero-panel", "worker"],
            cwd=TESTS.parent,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_for(
        self, condition: Callable[[], bool], timeout: float, *, worker_may_exit: bool = False
    ) -> float:
        """Wait until ``condition()`` holds (``timeout`` only bounds a hang); fails at once
        if the worker exits, unless ``worker_may_exit``."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise AssertionError("timed out waiting for the RQ worker")
            if not worker_may_exit and self.worker.poll() is not None:
                raise AssertionError(f"the RQ worker exited with {self.worker.returncode}")
            time.sleep(0.02)
        return time.monotonic() - started

    def close(self) -> None:
        self.worker.terminate()
        try:
            self.worker.wait(10)
        except subprocess.TimeoutExpired:
            self.worker.kill()
        self.h.close()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{self.prefix}*"):
            client.delete(key)
        for key in client.scan_iter(f"rq:*{self.queue}*"):
            client.delete(key)
