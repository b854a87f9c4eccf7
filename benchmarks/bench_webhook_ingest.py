"""Benchmark the webhook route's answer time to large deliveries (Xero wants 200 within 5 s).

Run from the repository root::

    .venv/bin/python benchmarks/bench_webhook_ingest.py                  # SQLite
    .venv/bin/python benchmarks/bench_webhook_ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Prints progress, then its figures as one JSON object on the last line (also written to
``benchmarks/results/``). The host app is served over HTTP from threads (werkzeug), and each
delivery is signed as Xero signs it and POSTed whole:

* ``one_delivery_s``: the answer time of one delivery of ``--events`` (5,000, about 1.6 MB)
  new events, median and worst of ``--repeat`` (5) deliveries. Target: within 1 s.
* ``concurrent_s``: the answer times of two deliveries of ``--events / 2`` sent at once;
  both must be 200 (no 503 for a locked SQLite database).
* ``events_stored``: rows in ``xero_panel_webhook_event`` afterwards; the run fails loudly
  unless every event sent is stored once and every answer was a 200.

The fetching of what the events name is the background's and is not started here (its
hand-off is counted instead): ``bench_latency.py`` times a webhook's change reaching the
cache. The target is checked and the run fails loudly when it is missed: run it on a quiet
machine.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _sync_support import SyncHost  # noqa: E402
from bench_common import check, finish, progress, run_main  # noqa: E402
from conftest import build_host_app  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from xero_panel.models import WebhookEvent  # noqa: E402
from xero_panel.web.webhook_routes import signature_of  # noqa: E402

WEBHOOKS = "/integrations/xero/webhooks"
KEY = "bench-webhook-key"
TARGET_S = 1.0


def delivery(tenant_id: str, n: int) -> bytes:
    """A signed-to-be delivery of ``n`` new INVOICE UPDATE events, as Xero sends it."""
    import json

    events = [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{rid}",
            "resourceId": rid,
            "eventDateUtc": "2026-07-01T01:15:39.902",
            "eventType": "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }
        for rid in (str(uuid.uuid4()) for _ in range(n))
    ]
    body = {"events": events, "firstEventSequence": 1, "lastEventSequence": n, "entropy": "B"}
    return json.dumps(body, separators=(",", ":")).encode()


def post(url: str, body: bytes) -> tuple[int, float]:
    headers = {"x-xero-signature": signature_of(body, KEY), "Content-Type": "application/json"}
    started = time.perf_counter()
    status = requests.post(url, data=body, headers=headers, timeout=60).status_code
    return status, time.perf_counter() - started


def stored(h: SyncHost) -> int:
    with h.state_session() as session:
        return int(session.scalar(select(func.count(WebhookEvent.id))) or 0)


def measure(database_url: str, n: int, repeat: int) -> dict[str, Any]:
    h = SyncHost(
        lambda url, **c: build_host_app(url, **c),
        database_url,
        tenant_id=str(uuid.uuid4()),
        webhook_key=KEY,
    )
    handed: list[int] = []
    h.scheduler.start_webhook = lambda events: handed.append(len(events))
    try:
        url = h.serve() + WEBHOOKS
        post(url, delivery(h.tenant_id, 10))  # warm up: connections, templates, the route
        base = stored(h)
        statuses: list[int] = []
        times: list[float] = []
        size = 0
        for i in range(repeat):
            body = delivery(h.tenant_id, n)
            size = len(body)
            status, took = post(url, body)
            statuses.append(status)
            times.append(took)
            progress(f"delivery {i + 1}: {n} events, {len(body):,} bytes, {status} in {took:.3f} s")
        bodies = [delivery(h.tenant_id, n // 2) for _ in range(2)]
        barrier = threading.Barrier(2)
        concurrent: list[tuple[int, float]] = []

        def deliver(body: bytes) -> None:
            barrier.wait()
            concurrent.append(post(url, body))

        threads = [threading.Thread(target=deliver, args=(b,)) for b in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        progress(
            f"two at once of {n // 2}: "
            + ", ".join(f"{status} in {took:.3f} s" for status, took in concurrent)
        )
        count = stored(h) - base
    finally:
        with h.app.app_context():
            h.close()
            h.host.db.drop_all()
            h.host.db.engine.dispose()
    expected = n * repeat + 2 * (n // 2)
    answers = statuses + [status for status, _ in concurrent]
    check(len(answers) == repeat + 2, f"{repeat + 2 - len(answers)} deliveries got no answer")
    check(all(s == 200 for s in answers), f"not every answer was 200: {answers}")
    check(count == expected, f"{count} events stored of the {expected} sent")
    check(sum(handed) == expected + 10, f"{sum(handed)} events handed to the background")
    return {
        "events": n,
        "body_bytes": size,
        "one_delivery_s": {
            "median": round(statistics.median(times), 3),
            "max": round(max(times), 3),
            "target": TARGET_S,
        },
        "concurrent_s": {
            "deliveries": 2,
            "events_each": n // 2,
            "max": round(max(t for _, t in concurrent), 3),
            "statuses": sorted(s for s, _ in concurrent),
        },
        "events_stored": count,
    }


def main(argv: list[str] | None = None) -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--events", type=int, default=5000, help="events in one delivery")
    parser.add_argument("--repeat", type=int, default=5, help="single deliveries timed")
    parser.add_argument("--no-save", dest="save", action="store_false")
    args = parser.parse_args(argv)
    progress(f"database {args.database_url or 'SQLite (temp file)'}")
    with tempfile.TemporaryDirectory() as tmp:
        figures = measure(
            args.database_url or f"sqlite:///{tmp}/ingest.db", args.events, args.repeat
        )
    label = "postgresql" if args.database_url else "sqlite"
    finish(
        f"bench_webhook_ingest-{args.events}-{label}",
        figures,
        args.database_url or "sqlite",
        save=args.save,
    )
    check(figures["one_delivery_s"]["max"] <= TARGET_S, f"a delivery took over {TARGET_S} s")


if __name__ == "__main__":
    run_main(main)
