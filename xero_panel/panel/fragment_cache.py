"""The cache of rendered panel fragments: where a rendered panel is kept and found again.

A panel's HTML changes only when something it shows changes: the record's cached documents
and pins (their fingerprint, :func:`~xero_panel.panel.summaries.record_version`), the view
and its parameters, the viewer's locale and rights, the organisations' "today", the cache's
state. The web layer puts all of these in the key (:func:`fragment_key`), so a key names
exactly one HTML text and nothing ever needs deleting: a change makes a new key, and old
keys age out (least recently served first, or their expiry). Per-session values are not in
the text: the CSRF token is a slot filled in at each answer (:data:`CSRF_SLOT`).

Two stores behind one interface, :class:`FragmentStore`: :class:`InProcessFragments` (a
least-recently-used map bounded in bytes, per process) and :class:`RedisFragments` (shared
by every worker, each entry with an expiry). Plain Python (no Flask).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = [
    "CSRF_SLOT",
    "ENTRY_OVERHEAD",
    "FragmentStore",
    "InProcessFragments",
    "NoFragments",
    "RedisFragments",
    "fragment_key",
]

log = logging.getLogger(__name__)

#: What the cached text holds where the session's CSRF token goes; filled in per answer.
#: Plain letters and digits, so no escaping (HTML, JSON) ever changes it.
CSRF_SLOT = "xpCsrfSlot7c1e0b9a"

#: What each in-process entry costs beyond its key's and text's own objects: the map's
#: node and the entry's tuple (measured with tracemalloc, rounded up).
ENTRY_OVERHEAD = 256


def fragment_key(*parts: object) -> str:
    """The key of a rendered fragment: a hash of everything its HTML depends on.

    ``parts`` are plain values (strings, numbers, dates, tuples of them); their ``repr``
    is hashed, so two keys are equal only when every part is."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:40]


class FragmentStore:
    """Where rendered fragments are kept. :meth:`get` answers ``None`` for a key it does not
    hold (or no longer holds); :meth:`put` keeps a text under a key. Neither ever raises
    for the store's own trouble: a fragment not found is rendered again."""

    def get(self, key: str) -> str | None:
        raise NotImplementedError

    def put(self, key: str, text: str) -> None:
        raise NotImplementedError


class NoFragments(FragmentStore):
    """The cache turned off (``XERO_PANEL_FRAGMENT_CACHE = False``): nothing is kept."""

    def get(self, key: str) -> str | None:
        return None

    def put(self, key: str, text: str) -> None:
        return None


class InProcessFragments(FragmentStore):
    """Fragments kept in this process, at most ``max_bytes`` of them (each entry counted as
    its key's and text's ``sys.getsizeof`` plus :data:`ENTRY_OVERHEAD`); the least recently
    served go first, and none is served older than ``ttl`` seconds. Thread-safe.

    :param clock: seconds for the age limit (a monotonic clock; tests pass their own).
    """

    def __init__(
        self, max_bytes: int, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[str, float, int]] = OrderedDict()
        self._lock = threading.Lock()
        #: The bytes the entries take now, counted as above (never over ``max_bytes``).
        self.size = 0

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            text, stored_at, _ = entry
            if self._clock() - stored_at > self.ttl:
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return text

    def put(self, key: str, text: str) -> None:
        cost = sys.getsizeof(key) + sys.getsizeof(text) + ENTRY_OVERHEAD
        if cost > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            while self.size + cost > self.max_bytes:
                self._drop(next(iter(self._entries)))
            self._entries[key] = (text, self._clock(), cost)
            self.size += cost

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        _, _, cost = self._entries.pop(key)
        self.size -= cost


class RedisFragments(FragmentStore):
    """Fragments kept in Redis under ``{prefix}fragment:{key}``, each for ``ttl`` seconds,
    shared by every worker of every host. Redis trouble counts as a miss (logged), never as
    a failed panel."""

    def __init__(self, client: Any, prefix: str, ttl: int) -> None:
        self.client = client
        self.prefix = f"{prefix}fragment:"
        self.ttl = ttl

    def get(self, key: str) -> str | None:
        try:
            value = self.client.get(self.prefix + key)
        except Exception as exc:  # the panel renders instead
            log.warning("xero-panel: reading a fragment from Redis failed: %s", exc)
            return None
        return value.decode() if isinstance(value, bytes) else value

    def put(self, key: str, text: str) -> None:
        try:
            self.client.set(self.prefix + key, text.encode(), ex=self.ttl)
        except Exception as exc:
            log.warning("xero-panel: keeping a fragment in Redis failed: %s", exc)
