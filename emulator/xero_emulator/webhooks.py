"""Xero-style webhooks: signed event deliveries from a background thread, and the
*Intent to Receive* check.

Each delivery is a POST of ``{"events": [...], "firstEventSequence", "lastEventSequence",
"entropy"}`` with ``x-xero-signature`` = base64(HMAC-SHA256(raw body, webhook key)).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import random
import string
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delivery", "WebhookDispatcher", "sign"]


def sign(body: bytes, key: str) -> str:
    """Xero's ``x-xero-signature`` for a raw body."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _entropy(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(20))


@dataclass
class Delivery:
    """One webhook payload and what happened when it was sent."""

    payload: dict[str, Any]
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False

    def as_json(self) -> dict[str, Any]:
        """The record as ``GET /_emulator/webhooks`` shows it."""
        return {"payload": self.payload, "attempts": self.attempts, "delivered": self.delivered}


class WebhookDispatcher:
    """Queues events and posts them to ``url`` from a daemon thread, retrying failures.

    :param url: the receiver; without it events are recorded but not sent.
    :param key: the webhook signing key.
    :param retries: extra attempts after a failed one.
    :param retry_delay: seconds before the first retry (doubling each time).
    :param timeout: seconds to wait for the receiver (Xero allows 5).
    """

    def __init__(
        self,
        url: str | None,
        key: str | None,
        retries: int = 3,
        retry_delay: float = 0.2,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.key = key or ""
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._sequence = 0
        self._rng = random.Random()
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._pending = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def emit(self, events: list[dict[str, Any]]) -> Delivery:
        """Queue one payload carrying ``events`` (each gets the next sequence number)."""
        with self._cond:
            first = self._sequence + 1
            self._sequence += len(events)
            payload = {
                "events": events,
                "firstEventSequence": first,
                "lastEventSequence": self._sequence,
                "entropy": _entropy(self._rng),
            }
            delivery = Delivery(payload)
            self.deliveries.append(delivery)
            if not self.url:
                return delivery
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="xero-emulator-webhooks", daemon=True
                )
                self._thread.start()
        self._queue.put(delivery)
        return delivery

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued delivery was attempted (with its retries).

        :returns: ``False`` when ``timeout`` passed first.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the worker thread after the queue drains."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=self.timeout + 1)

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None:
                return
            try:
                self._deliver(delivery)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def _post(self, body: bytes, signature: str) -> tuple[int | None, str | None, bytes]:
        # urllib, not requests: a host test that mocks requests with `responses` must not
        # swallow the emulator's own webhook calls.
        assert self.url is not None
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured receiver
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "x-xero-signature": signature},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return int(response.status), None, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return int(exc.code), None, exc.read()
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}", b""

    def _deliver(self, delivery: Delivery) -> None:
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        signature = sign(body, self.key)
        delay = self.retry_delay
        for attempt in range(self.retries + 1):
            status, error, _ = self._post(body, signature)
            delivery.attempts.append({"status": status, "error": error, "at": time.time()})
            if status == 200:
                delivery.delivered = True
                return
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2

    def intent_to_receive(self, rounds: int = 2) -> dict[str, Any]:
        """Run Xero's *Intent to Receive* check synchronously: ``rounds`` correctly signed and
        ``rounds`` badly signed empty payloads in a shuffled order. The receiver passes when it
        answers 200 to every good one and 401 to every bad one."""
        if not self.url:
            return {"ok": False, "error": "no webhook_url configured", "checks": []}
        kinds = [True] * rounds + [False] * rounds
        self._rng.shuffle(kinds)
        checks = []
        for signed_correctly in kinds:
            payload = {
                "events": [],
                "lastEventSequence": 0,
                "firstEventSequence": 0,
                "entropy": _entropy(self._rng),
            }
            body = json.dumps(payload, separators=(",", ":")).encode()
            if signed_correctly:
                signature = sign(body, self.key)
            else:
                signature = sign(body, self.key + _entropy(self._rng))
            status, error, content = self._post(body, signature)
            expected = 200 if signed_correctly else 401
            checks.append(
                {
                    "signed_correctly": signed_correctly,
                    "expected": expected,
                    "status": status,
                    "error": error,
                    "body_empty": not content,
                    "passed": status == expected,
                }
            )
        return {"ok": all(c["passed"] for c in checks), "checks": checks}
