"""Injected faults: error statuses, slow answers and dropped connections, per endpoint."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Fault", "FaultBook"]

_KEYS = {"endpoint", "status", "times", "delay_ms", "drop", "detail", "tenant"}
_STATUSES = {400, 401, 403, 404, 429, 500, 502, 503, 504}


@dataclass
class Fault:
    """One fault rule. ``endpoint`` ``None`` means every Accounting API endpoint; ``times``
    ``None`` means until cleared."""

    endpoint: str | None = None
    status: int | None = None
    delay_ms: int = 0
    drop: bool = False
    detail: str | None = None
    tenant: str | None = None
    times: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from its control-endpoint JSON. :raises ValueError: when invalid."""
        unknown = set(data) - _KEYS
        if unknown:
            raise ValueError(f"unknown fault keys {sorted(unknown)}; known: {sorted(_KEYS)}")
        status = data.get("status")
        if status is not None and status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")
        times = data.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise ValueError("times must be a positive integer")
        delay = data.get("delay_ms", 0)
        if not isinstance(delay, int) or delay < 0:
            raise ValueError("delay_ms must be a non-negative integer")
        fault = cls(
            endpoint=data.get("endpoint"),
            status=status,
            delay_ms=delay,
            drop=bool(data.get("drop", False)),
            detail=data.get("detail"),
            tenant=data.get("tenant"),
            times=times,
        )
        if fault.status is None and not fault.drop and not fault.delay_ms:
            raise ValueError("a fault needs status, delay_ms or drop")
        return fault

    def as_json(self) -> dict[str, Any]:
        """The fault as the control endpoint lists it."""
        return dataclasses.asdict(self)


class FaultBook:
    """The active faults; each matching call uses up one of a fault's ``times``.

    :param latency_ms: a delay added to every Accounting API call (like Xero seen from far
        away); it stays when the rules are cleared. A ``delay_ms`` fault adds to it.
    """

    def __init__(self, latency_ms: int = 0) -> None:
        if isinstance(latency_ms, bool) or not isinstance(latency_ms, int) or latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.latency_ms = latency_ms

    def add(self, fault: Fault) -> None:
        """Add a rule (later rules are checked after earlier ones)."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        """The active rules as JSON."""
        with self._lock:
            return [f.as_json() for f in self._faults]

    def take(self, endpoint: str, tenant_id: str | None, api: bool) -> Fault | None:
        """The first rule matching this call, counting it as used; for an Accounting API
        call with :attr:`latency_ms`, that rule with the latency added (or a delay alone).

        Rules without an endpoint only match Accounting API calls (``api``).
        """
        fault = self._match(endpoint, tenant_id, api)
        if not api or not self.latency_ms:
            return fault
        if fault is None:
            return Fault(delay_ms=self.latency_ms)
        return dataclasses.replace(fault, delay_ms=fault.delay_ms + self.latency_ms)

    def _match(self, endpoint: str, tenant_id: str | None, api: bool) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint is None and not api:
                    continue
                if fault.endpoint is not None and fault.endpoint.lower() != endpoint.lower():
                    continue
                if fault.tenant is not None and fault.tenant != tenant_id:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None
