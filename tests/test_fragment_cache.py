from __future__ import annotations

import sys
import tracemalloc
from typing import Any

import pytest

from tests.conftest import REDIS_URL
from xero_panel.panel.fragment_cache import (
    CSRF_SLOT,
    ENTRY_OVERHEAD,
    InProcessFragments,
    NoFragments,
    RedisFragments,
    fragment_key,
)


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_fragment_key_changes_with_any_part() -> None:
    base = fragment_key("acme", ("contact", "1"), "v1", None)
    assert base == fragment_key("acme", ("contact", "1"), "v1", None)
    assert base != fragment_key("globex", ("contact", "1"), "v1", None)
    assert base != fragment_key("acme", ("contact", "1"), "v2", None)
    assert base != fragment_key("acme", ("contact", "1"), "v1", "")


def test_csrf_slot_survives_escaping() -> None:
    import json

    from markupsafe import escape

    assert str(escape(json.dumps({"X-CSRFToken": CSRF_SLOT}))).count(CSRF_SLOT) == 1


def test_no_fragments_keeps_nothing() -> None:
    store = NoFragments()
    store.put("k", "text")
    assert store.get("k") is None


def test_in_process_serves_what_it_kept() -> None:
    store = InProcessFragments(1_000_000, ttl=60)
    store.put("k", "<section>")
    assert store.get("k") == "<section>"
    assert store.get("other") is None


def test_in_process_drops_the_least_recently_served_first() -> None:
    text = "x" * 1000
    cost = sys.getsizeof("a") + sys.getsizeof(text) + ENTRY_OVERHEAD
    store = InProcessFragments(3 * cost, ttl=60)
    for key in "abc":
        store.put(key, text)
    assert store.get("a") == text  # a is now the most recent
    store.put("d", text)
    assert store.get("b") is None
    assert [store.get(k) is not None for k in "acd"] == [True, True, True]
    assert store.size <= store.max_bytes


def test_in_process_age_limit() -> None:
    ticks = Ticks()
    store = InProcessFragments(1_000_000, ttl=60, clock=ticks)
    store.put("k", "text")
    ticks.now = 60
    assert store.get("k") == "text"
    ticks.now = 61
    assert store.get("k") is None
    assert len(store) == 0 and store.size == 0


def test_in_process_too_big_is_not_kept() -> None:
    store = InProcessFragments(1000, ttl=60)
    store.put("k", "x" * 2000)
    assert store.get("k") is None and store.size == 0


def test_in_process_memory_within_its_bound_over_10000_records() -> None:
    """10,000 distinct records' panels of about 43 KB each through a 32 MiB store: the
    store's count never passes its bound, and neither does what Python holds for it."""
    bound = 32 * 1024 * 1024
    tracemalloc.start()
    try:
        store = InProcessFragments(bound, ttl=3600)
        start, _ = tracemalloc.get_traced_memory()
        for record in range(10_000):
            key = fragment_key("acme", "contact", str(record), "v1")
            store.put(key, f"<section data-record-id={record}>" + "r" * 43_000)
            assert store.size <= bound
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 700 <= len(store) <= 800
    assert held - start <= bound


@pytest.mark.redis
def test_redis_keeps_with_expiry_under_the_prefix(redis_prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    store = RedisFragments(client, f"{redis_prefix}:", ttl=120)
    store.put("k", "<section>é")
    assert store.get("k") == "<section>é"
    assert 0 < client.ttl(f"{redis_prefix}:fragment:k") <= 120
    assert store.get("missing") is None


def test_redis_trouble_is_a_miss() -> None:
    class Down:
        def get(self, key: str) -> Any:
            raise ConnectionError("down")

        def set(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("down")

    store = RedisFragments(Down(), "p:", ttl=60)
    store.put("k", "text")
    assert store.get("k") is None
