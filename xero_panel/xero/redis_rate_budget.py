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
from .call_kinds import PRIORITY, CallKind
from .rate_budget import BudgetOptions, BudgetUsage, _BudgetBase
from .rate_headers import learn, seconds_until_utc_midnight

__all__ = ["RedisRateBudget"]

# A tenant's keys share a hash tag ({...}); the app-wide keys (one set for every tenant) do
# not, so on Redis Cluster they must be placed on the tenants' node (see the class docs).
# KEYS: 1 minute zset (member -> call time), 2 day counter, 3 slots zset (member -> expiry),
#       4 block hash {until, problem}, 5 sent counter, 6 waiting zset (rank:token -> until),
#       7 app minute zset, 8 app observed hash {used, at, since}, 9 app block hash, 10 app waiting,
#       11 this kind's share zset (member -> call time)
# ARGV: 1 now, 2 span (window + margin), 3 per_minute, 4 per_day,
#       5 concurrent, 6 slot_ttl, 7 token, 8 day_ttl, 9 rank, 10 app ceiling of this kind,
#       11 seconds a refused call stays noted as waiting beyond its wait, 12 share ceiling
_ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local rank = tonumber(ARGV[9])
local me = ARGV[9] .. ':' .. ARGV[7]
local function refuse(problem, wait, waiting)
  redis.call('ZADD', waiting, now + wait + tonumber(ARGV[11]), me)
  redis.call('PEXPIRE', waiting, math.ceil((wait + tonumber(ARGV[11])) * 1000) + 1000)
  return {problem, tostring(wait)}
end
local function outranked(waiting)
  redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)
  for _, member in ipairs(redis.call('ZRANGE', waiting, 0, -1)) do
    local other = tonumber(string.match(member, '^(%d+):'))
    if other ~= nil and other < rank and member ~= me then return true end
  end
  return false
end
local until_ = tonumber(redis.call('HGET', KEYS[4], 'until') or '0')
if until_ > now then
  local problem = redis.call('HGET', KEYS[4], 'problem') or 'minute'
  return refuse(problem, until_ - now, KEYS[6])
end
local app_until = tonumber(redis.call('HGET', KEYS[9], 'until') or '0')
if app_until > now then
  return refuse('appminute', app_until - now, KEYS[10])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local day_used = tonumber(redis.call('GET', KEYS[2]) or '0')
if day_used >= tonumber(ARGV[4]) then
  return {'day', '0'}
end
if outranked(KEYS[6]) or outranked(KEYS[10]) then
  return refuse('queued', 0, KEYS[6])
end
redis.call('ZREMRANGEBYSCORE', KEYS[11], '-inf', now - window)
for _, pair in ipairs({{KEYS[1], tonumber(ARGV[3])}, {KEYS[11], tonumber(ARGV[12])}}) do
  local count = redis.call('ZCARD', pair[1])
  if count >= pair[2] then
    local idx = count - pair[2]
    local oldest = redis.call('ZRANGE', pair[1], idx, idx, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    if wait < 0 then wait = 0 end
    return refuse('minute', wait, KEYS[6])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - window)
local app_ceiling = tonumber(ARGV[10])
local app_count = redis.call('ZCARD', KEYS[7])
local used = app_count
local seen_at = tonumber(redis.call('HGET', KEYS[8], 'at') or '')
if seen_at ~= nil and seen_at > now - window then
  local seen = tonumber(redis.call('HGET', KEYS[8], 'used') or '0')
  seen = seen + tonumber(redis.call('HGET', KEYS[8], 'since') or '0')
  if seen > used then used = seen end
end
if used >= app_ceiling then
  local wait = window
  if app_count >= app_ceiling then
    local idx = app_count - app_ceiling
    local oldest = redis.call('ZRANGE', KEYS[7], idx, idx, 'WITHSCORES')
    wait = tonumber(oldest[2]) + window - now
  end
  if seen_at ~= nil and seen_at > now - window and seen_at + window - now < wait then
    wait = seen_at + window - now
  end
  if wait < 0.001 then wait = 0.001 end
  return refuse('appminute', wait, KEYS[10])
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[5]) then
  return refuse('concurrent', 0, KEYS[6])
end
redis.call('ZREM', KEYS[6], me)
redis.call('ZREM', KEYS[10], me)
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
redis.call('ZADD', KEYS[11], now, ARGV[7])
redis.call('PEXPIRE', KEYS[11], math.ceil(window * 1000) + 1000)
if seen_at ~= nil then redis.call('HINCRBY', KEYS[8], 'since', 1) end
redis.call('ZADD', KEYS[7], now, ARGV[7])
redis.call('PEXPIRE', KEYS[7], math.ceil(window * 1000) + 1000)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[7])
redis.call('PEXPIRE', KEYS[3], math.ceil(tonumber(ARGV[6]) * 1000) + 1000)
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[8]))
redis.call('INCR', KEYS[5])
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[8]))
return {'ok', '0'}
"""

# KEYS: 1 minute zset, 2 day counter, 3 block hash, 4 app observed hash, 5 app block hash
# ARGV: 1 now, 2 span, 3 per_minute, 4 per_day, 5 min_remaining|'', 6 day_remaining|'',
#       7 retry_after|'', 8 problem, 9 day_ttl, 10 filler member prefix,
#       11 app_remaining|'', 12 app_per_minute
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
if ARGV[11] ~= '' then
  local used = tonumber(ARGV[12]) - tonumber(ARGV[11])
  if used < 0 then used = 0 end
  redis.call('HSET', KEYS[4], 'used', tostring(used), 'at', tostring(now), 'since', '0')
  redis.call('PEXPIRE', KEYS[4], math.ceil(window * 1000) + 1000)
end
if ARGV[7] ~= '' then
  local block = KEYS[3]
  if ARGV[8] == 'appminute' then block = KEYS[5] end
  local until_ = now + tonumber(ARGV[7])
  if until_ > tonumber(redis.call('HGET', block, 'until') or '0') then
    redis.call('HSET', block, 'until', tostring(until_), 'problem', ARGV[8])
    redis.call('PEXPIRE', block, math.ceil(tonumber(ARGV[7]) * 1000) + 1000)
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

    Keys are ``<prefix>rate:{<tenant_id>}:minute|day:<YYYY-MM-DD>|sent|slots|block|waiting``
    and ``...:minute:webhook|interactive|bulk`` (the calls of each share; the first three
    are the :class:`~xero_panel.xero.call_counter.RedisCallCounter`'s), and for the app-wide
    minute ``<prefix>rate:app:minute|observed|block|waiting``. The scripts
    touch a tenant's keys and the app's together, so on Redis Cluster (where a script's keys
    must share a slot) keep the plugin on a single Redis or a single-shard cluster. Each
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

    def _keys(self, tenant_id: str, now: float) -> tuple[str, str, str, str, str, str]:
        minute, day, sent = self._counter.keys(tenant_id, now)
        base = self._counter.tenant_key(tenant_id)
        return minute, day, f"{base}:slots", f"{base}:block", sent, f"{base}:waiting"

    def _app_keys(self) -> tuple[str, str, str, str]:
        base = f"{self.prefix}rate:app"
        return f"{base}:minute", f"{base}:observed", f"{base}:block", f"{base}:waiting"

    def _try_take(self, tenant_id: str, token: str, kind: CallKind) -> tuple[str, float] | None:
        now = self._clock()
        result = self._acquire_script(
            keys=[
                *self._keys(tenant_id, now),
                *self._app_keys(),
                f"{self._counter.tenant_key(tenant_id)}:minute:{self.shares.share(kind)}",
            ],
            args=[
                repr(now),
                repr(self.span),
                self.per_minute,
                self.per_day,
                self.concurrent,
                repr(self.slot_ttl),
                token,
                self._DAY_TTL,
                PRIORITY[kind],
                self.shares.app_ceiling(kind, self.app_per_minute),
                repr(4 * self.poll_interval + 1.0),
                self.shares.share_ceiling(kind, self.per_minute),
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

    def _give_up(self, tenant_id: str, token: str) -> None:
        waiting = self._keys(tenant_id, self._clock())[5]
        members = [f"{rank}:{token}" for rank in PRIORITY.values()]
        self._redis.zrem(waiting, *members)
        self._redis.zrem(self._app_keys()[3], *members)

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Lower the shared budget to what Xero says is left; see
        :meth:`~xero_panel.xero.rate_budget.InProcessRateBudget.observe`."""
        now = self._clock()
        learned = learn(headers, now)
        if learned.nothing:
            return
        minute, day, _slots, block, _sent, _waiting = self._keys(tenant_id, now)
        _app_minute, app_observed, app_block, _app_waiting = self._app_keys()

        def opt(value: float | None) -> str:
            return "" if value is None else repr(value)

        self._observe_script(
            keys=[minute, day, block, app_observed, app_block],
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
                opt(learned.app_remaining),
                self.app_per_minute,
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
