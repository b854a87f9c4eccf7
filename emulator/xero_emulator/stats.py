"""Call counts per tenant and for the identity endpoints (``GET /_emulator/stats``)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["CallStats"]


def _tenant_entry() -> dict[str, Any]:
    return {"calls": 0, "rate_limited": 0, "errors": 0, "by_status": {}, "by_endpoint": {}}


class CallStats:
    """``{"tenants": {id: {"calls", "rate_limited", "errors", "by_status", "by_endpoint"}},
    "identity": {"calls", "by_endpoint"}}``, safe to update from many threads.

    :param tenant_ids: the tenants listed (with zeros) after every reset.
    """

    def __init__(self, tenant_ids: Iterable[str]) -> None:
        self._tenant_ids = list(tenant_ids)
        self._lock = threading.Lock()
        self._stats: dict[str, Any] = {}
        self.reset()

    def snapshot(self) -> dict[str, Any]:
        """A copy of every count."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def reset(self) -> None:
        """Zero every count."""
        with self._lock:
            self._stats = {
                "tenants": {tid: _tenant_entry() for tid in self._tenant_ids},
                "identity": {"calls": 0, "by_endpoint": {}},
            }

    def count_identity(self, endpoint: str) -> None:
        """One call to an identity endpoint (``authorize``, ``token``, ...)."""
        with self._lock:
            ident = self._stats["identity"]
            ident["calls"] += 1
            ident["by_endpoint"][endpoint] = ident["by_endpoint"].get(endpoint, 0) + 1

    def count_api(self, tenant_id: str, endpoint: str) -> None:
        """One Accounting API call for a tenant (counted before any check)."""
        with self._lock:
            entry = self._stats["tenants"].setdefault(tenant_id, _tenant_entry())
            entry["calls"] += 1
            entry["by_endpoint"][endpoint] = entry["by_endpoint"].get(endpoint, 0) + 1

    def count_rate_limited(self, tenant_id: str) -> None:
        """One 429 answer for a tenant."""
        with self._lock:
            self._stats["tenants"][tenant_id]["rate_limited"] += 1

    def count_error(self, tenant_id: str, status: int) -> None:
        """One error answer (4xx or 5xx, 429 included) for a tenant, by status code."""
        with self._lock:
            entry = self._stats["tenants"].setdefault(tenant_id, _tenant_entry())
            entry["errors"] += 1
            key = str(status)
            entry["by_status"][key] = entry["by_status"].get(key, 0) + 1
