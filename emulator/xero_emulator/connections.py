"""The connections between OAuth clients and organisations, per Xero user (``/connections``)."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .xero_json import format_connection_time

__all__ = ["Connection", "ConnectionBook"]


@dataclass
class Connection:
    """One organisation connected to one client for one Xero user."""

    id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    client_id: str
    user_email: str
    auth_event_id: str
    created_ms: int
    updated_ms: int
    ticks: int = field(default_factory=lambda: secrets.randbelow(10_000))

    def as_json(self) -> dict[str, Any]:
        """The connection as ``GET /connections`` lists it."""
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": self.tenant_type,
            "tenantName": self.tenant_name,
            "createdDateUtc": format_connection_time(self.created_ms, self.ticks),
            "updatedDateUtc": format_connection_time(self.updated_ms, self.ticks + 22_440),
        }


class ConnectionBook:
    """Every connection, by ID. A user's connections for a client are keyed by its
    ``(client_id, user_email)``; emails are stored lower case.

    :param tenant_names: tenantId -> (tenantName, tenantType).
    :param lock: the identity's lock, so a token refresh sees connections consistently.
    """

    def __init__(self, tenant_names: Mapping[str, tuple[str, str]], lock: threading.RLock) -> None:
        self.tenant_names = dict(tenant_names)
        self.by_id: dict[str, Connection] = {}
        self._lock = lock

    def find(self, client_id: str, email: str, tenant_id: str) -> Connection | None:
        """The user's connection of ``tenant_id`` to the client, if any."""
        with self._lock:
            for conn in self.by_id.values():
                if (conn.client_id, conn.user_email, conn.tenant_id) == (
                    client_id,
                    email,
                    tenant_id,
                ):
                    return conn
        return None

    def of_user(self, client_id: str, email: str, auth_event_id: str = "") -> list[Connection]:
        """The user's connections to the client, most recently (re)connected first;
        only those of one authorisation when ``auth_event_id`` is given."""
        with self._lock:
            conns = [
                c for c in self.by_id.values() if c.client_id == client_id and c.user_email == email
            ]
        if auth_event_id:
            conns = [c for c in conns if c.auth_event_id == auth_event_id]
        return sorted(conns, key=lambda c: (c.updated_ms, c.created_ms), reverse=True)

    def connect(
        self,
        client_id: str,
        email: str,
        tenant_ids: Iterable[str],
        auth_event_id: str,
        now_ms: int,
    ) -> None:
        """Create the user's connections, or refresh the ones that exist."""
        with self._lock:
            for tenant_id in tenant_ids:
                existing = self.find(client_id, email, tenant_id)
                if existing is not None:
                    existing.updated_ms = now_ms
                    existing.auth_event_id = auth_event_id
                    continue
                name, kind = self.tenant_names[tenant_id]
                conn = Connection(
                    str(uuid.uuid4()),
                    tenant_id,
                    name,
                    kind,
                    client_id,
                    email,
                    auth_event_id,
                    now_ms,
                    now_ms,
                )
                self.by_id[conn.id] = conn

    def delete(self, client_id: str, email: str, connection_id: str) -> bool:
        """Disconnect one of the user's tenants; ``False`` when there is no such connection."""
        with self._lock:
            conn = self.by_id.get(connection_id)
            if conn is None or (conn.client_id, conn.user_email) != (client_id, email):
                return False
            del self.by_id[connection_id]
            return True

    def delete_user(self, client_id: str, email: str) -> None:
        """Remove all of the user's connections to the client (a revoked grant)."""
        with self._lock:
            for conn in self.of_user(client_id, email):
                del self.by_id[conn.id]

    def delete_tenant(self, tenant_id: str) -> int:
        """Remove every connection to a tenant; returns how many there were."""
        with self._lock:
            gone = [cid for cid, c in self.by_id.items() if c.tenant_id == tenant_id]
            for cid in gone:
                del self.by_id[cid]
        return len(gone)
