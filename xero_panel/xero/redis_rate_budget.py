"""The rate budget in Redis, shared by every worker on every host.

Same rules as :class:`~xero_panel.xero.rate_budget.InProcessRateBudget` (a call stays counted
against the minute limit for 60 s plus the same margin); each step is one
Lua script, so it is atomic across workers. The calls are counted under the keys of a
:class:`~xero_panel.xero.call_counter.RedisCallCounter` with the same prefix.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Unpack

from .call_counter import RedisCallCounter
from .rate_budget import (
    BudgetOptions,
    BudgetUsage,
    _BudgetBase,
    _learn,
    _Learned,
    seconds_until_utc_midnight,
)

__all__ = ["RedisRateBudget"]

# All keys of one tenant share a hash tag ({...}) so the scripts also work on Redis Cluster.
# KEYS: 1 minute zset (member -> call time), 2 day counter, 3 slots zset (member -> expiry),
#       4 block hash {until, problem}, 5 sent counter
# ARGV: 1 now, 2 span (window + margin), 3 per_minute, 4 per_day, 5 concurrent, 6 slot_ttl,
#       7 token, 8 day_ttl
_ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local until_ = tonumber(redis.call('HGET', KEYS[4], 'until') or '0')
if until_ > now then
  local problem = redis.call('HGET', KEYS[4], 'problem') or 'minute'
  return {problem, tostring(until_ - now)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local day_used = tonumber(redis.call('GET', KEYS[2]) or '0')
if day_used >= tonumber(ARGV[4]) then
  return {'day', '0'}
end
local per_minute = tonumber(ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
if count >= per_minute then
  local oldest = redis.call('ZRANGE', KEYS[1], count - per_minute, count - per_minute, 'WITHSCORES')
  local wait = tonumber(oldest[2]) + window - now
  if wait < 0 then wait = 0 end
  return {'minute', tostring(wait)}
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then
  return {'concurrent', '0'}
end
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[7])
redis.call('PEXPIRE', KEYS[3], math.ceil(tonumber(ARGV[6]) * 1000) + 1000)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[8]))
redis.call('INCR', KEYS[5])
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[8]))
return {'ok', '0'}
"""

# KEYS: 1 minute zset, 2 day counter, 3 block hash
# ARGV: 1 now, 2 span, 3 per_minute, 4 per_day, 5 min_remaining|'', 6 day_remaining|'',
#       7 retry_after|'', 8 problem, 9 day_ttl, 10 filler member prefix
_OBSERVE_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if ARGV[5] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local missing = tonumber(ARGV[3]) - tonumber(ARGV[5]) - redis.call('ZCARD', KEYS[1])
  for i = 1, missing do
    redis.call('ZADD', KEYS[1], now, ARGV[10] .. i)
  end
  if missing > 0 then
    redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
  end
end
if ARGV[6] ~= '' then
  local floor = tonumber(ARGV[4]) - tonumber(ARGV[6])
  if floor > tonumber(redis.call('GET', KEYS[2]) or '0') then
    redis.call('SET', KEYS[2], floor, 'EX', tonumber(ARGV[9]))
  end
end
if ARGV[7] ~= '' then
  local until_ = now + tonumber(ARGV[7])
  if until_ > tonumber(redis.call('HGET', KEYS[3], 'until') or '0') then
    redis.call('HSET', KEYS[3], 'until', tostring(until_), 'problem', ARGV[8])
    redis.call('PEXPIRE', KEYS[3], math.ceil(tonumber(ARGV[7]) * 1000) + 1000)
  end
end
return 'ok'
"""

# KEYS: 1 minute zset, 2 day counter, 3 slots zset, 4 block hash; ARGV: 1 now, 2 span
_USAGE_LUA = """
local now = tonumber(ARGV[1])
local minute = redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[2])), '+inf')
local day = redis.call('GET', KEYS[2]) or '0'
local slots = redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf')
local until_ = redis.call('HGET', KEYS[4], 'until') or ''
if until_ ~= '' and tonumber(until_) <= now then until_ = '' end
return {tostring(minute), day, tostring(slots), until_}
"""


class RedisRateBudget(_BudgetBase):
    """A rate budget in Redis, shared by every worker on every host.

    Keys are ``<prefix>rate:{<tenant_id>}:minute|day:<YYYY-MM-DD>|sent|slots|block`` (the
    first three are the :class:`~xero_panel.xero.call_counter.RedisCallCounter`'s). Each
    concurrency slot is stored with an expiry (``slot_ttl``), so a worker that dies mid-call
    frees its slot after ``slot_ttl`` seconds at most. Times come from ``clock``, not from
    Redis, so every host needs a synchronised clock (NTP is plenty for 60 s windows).

    :param redis_client: a :class:`redis.Redis` (``decode_responses`` either way).
    :param prefix: put before every key (``XERO_PANEL_REDIS_PREFIX``).
    :param slot_ttl: seconds after which an unreleased concurrency slot is dropped; keep it
        above the longest single HTTP call (connect + read timeout).
    Other parameters: see :class:`~xero_panel.xero.rate_budget.BudgetOptions`.
    """

    # Day counters live two days so a clock near midnight on another host still finds them.
    _DAY_TTL = 2 * 86400

    def __init__(
        self,
        redis_client: Any,
        prefix: str = "xero-panel:",
        *,
        slot_ttl: float = 60.0,
        **options: Unpack[BudgetOptions],
    ) -> None:
        super().__init__(**options)
        if slot_ttl <= 0:
            raise ValueError("slot_ttl must be positive")
        self.slot_ttl = float(slot_ttl)
        self.prefix = prefix
        self._redis = redis_client
        self._counter = RedisCallCounter(redis_client, prefix, window=self.span, clock=self._clock)
        self._acquire_script = redis_client.register_script(_ACQUIRE_LUA)
        self._observe_script = redis_client.register_script(_OBSERVE_LUA)
        self._usage_script = redis_client.register_script(_USAGE_LUA)

    @property
    def counter(self) -> RedisCallCounter:
        """Where this budget counts the calls it lets through."""
        return self._counter

    def _keys(self, tenant_id: str, now: float) -> tuple[str, str, str, str, str]:
        minute, day, sent = self._counter.keys(tenant_id, now)
        base = self._counter.tenant_key(tenant_id)
        return minute, day, f"{base}:slots", f"{base}:block", sent

    def _try_take(self, tenant_id: str, token: str) -> tuple[str, float] | None:
        now = self._clock()
        result = self._acquire_script(
            keys=list(self._keys(tenant_id, now)),
            args=[
                repr(now),
                repr(self.span),
                self.per_minute,
                self.per_day,
                self.concurrent,
                repr(self.slot_ttl),
                token,
                self._DAY_TTL,
            ],
        )
        problem, wait = (_text(v) for v in result)
        if problem == "ok":
            return None
        if problem == "day":
            return "day", seconds_until_utc_midnight(now)
        return problem, max(0.0, float(wait))

    def _release(self, tenant_id: str, token: str) -> None:
        self._redis.zrem(self._keys(tenant_id, self._clock())[2], token)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Lower the shared budget to what Xero says is left; see
        :meth:`~xero_panel.xero.rate_budget.InProcessRateBudget.observe`."""
        now = self._clock()
        learned = _learn(headers, now)
        if learned == _Learned(None, None, None, learned.problem):
            return
        minute, day, _slots, block, _sent = self._keys(tenant_id, now)

        def opt(value: float | None) -> str:
            return "" if value is None else repr(value)

        self._observe_script(
            keys=[minute, day, block],
            args=[
                repr(now),
                repr(self.span),
                self.per_minute,
                self.per_day,
                opt(learned.min_remaining),
                opt(learned.day_remaining),
                opt(learned.retry_after),
                learned.problem or "minute",
                self._DAY_TTL,
                f"observed:{uuid.uuid4().hex}:",
            ],
        )

    def usage(self, tenant_id: str) -> BudgetUsage:
        """Report what ``tenant_id`` has used, across all workers."""
        now = self._clock()
        minute, day, slots, until = (
            _text(v)
            for v in self._usage_script(
                keys=list(self._keys(tenant_id, now)[:4]), args=[repr(now), repr(self.span)]
            )
        )
        return BudgetUsage(
            minute_used=int(minute),
            day_used=int(day),
            concurrent=int(slots),
            blocked_until=float(until) if until else None,
        )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
