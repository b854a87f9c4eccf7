"""Where the plugin's shared state lives: in the process, or in Redis. Decided here, once.

:func:`make_backends` reads the settings and builds, for one app: ONE Redis client (or none,
without ``XERO_PANEL_REDIS_URL``), and on it, all under ONE key prefix
(``XERO_PANEL_REDIS_PREFIX``), the sync's locks and claims, the per-tenant rate budget with
its call counter, the token refresh lock and the rendered panels' cache.
:meth:`Backends.runner` makes the background runner (threads, or RQ on the same client).
This is the only place that connects to Redis.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from .config import Settings
from .extras import require
from .known_matches import KnownMatches, NoKnownMatches
from .locks import Locks, make_locks
from .oauth import RefreshLock
from .panel.fragment_cache import (
    FragmentStore,
    InProcessFragments,
    NoFragments,
    RedisFragments,
)
from .sync.refresh_gate import RefreshGate, make_refresh_gate
from .sync.runners import Execute, Runner, make_runner
from .xero.call_counter import CallCounter, DatabaseCallCounter
from .xero.call_kinds import Shares
from .xero.rate_budget import BudgetOptions, InProcessRateBudget, RateBudget
from .xero.redis_rate_budget import RedisRateBudget

__all__ = ["Backends", "make_backends"]


@dataclass(frozen=True)
class Backends:
    """The shared pieces of one app (see :func:`make_backends`).

    :ivar redis: the one Redis client, or ``None`` (everything in process).
    :ivar prefix: put before every Redis key.
    :ivar locks: single-flight locks and claims of the sync.
    :ivar budget: the per-tenant rate budget every Xero call of the app goes through.
    :ivar refresh_lock: the lock token refreshes take.
    :ivar rq_queue: the RQ queue of background jobs (with Redis).
    :ivar refresh_gate: the fair use of reps' *Refresh* (in flight, cooldown, per user).
    :ivar fragments: where rendered panels are kept (Redis, this process, or nowhere).
    :ivar matches: the records' matches this process worked out, reused while their stamp
        stands (kept with the fragment cache, nowhere without it).
    """

    redis: Any
    prefix: str
    locks: Locks
    budget: RateBudget
    refresh_lock: RefreshLock
    rq_queue: str
    refresh_gate: RefreshGate
    fragments: FragmentStore = field(default_factory=NoFragments)
    matches: NoKnownMatches = field(default_factory=NoKnownMatches)

    @property
    def counter(self) -> CallCounter:
        """The one count of Xero calls per tenant (the budget's)."""
        return self.budget.counter

    def runner(
        self,
        execute: Execute,
        context: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> Runner:
        """The background runner: RQ on :attr:`redis`, or threads without Redis.

        :param execute: runs a job by name in a thread (the scheduler's ``execute``).
        :param context: entered around each threaded job (``app.app_context``).
        """
        return make_runner(self.redis, self.rq_queue, execute, context)


def make_backends(settings: Settings, engine: Callable[[], Engine] | None = None) -> Backends:
    """Build the backends the settings ask for.

    :raises ~xero_panel.extras.MissingExtra: ``XERO_PANEL_REDIS_URL`` is set without the
        ``redis`` extra installed (the message says ``pip install "xero-panel[redis]"``).
    :param engine: returns the host's database engine. Without Redis, the call counter adds
        each call to the database through it, so that every process (``flask xero-panel
        status`` too) reads the same calls today; without it the count stays in the process.
    """
    client: Any = None
    if settings.redis_url is not None:
        redis = require("redis", "XERO_PANEL_REDIS_URL")
        require("rq", "XERO_PANEL_REDIS_URL")  # the background sync's queue
        client = redis.Redis.from_url(settings.redis_url)
    prefix = settings.redis_prefix
    limits = BudgetOptions(
        per_minute=settings.rate_limit_per_minute,
        per_day=settings.rate_limit_per_day,
        concurrent=settings.rate_limit_concurrent,
        shares=Shares(settings.budgets.background_reserve, settings.budgets.interactive_reserve),
        app_per_minute=settings.budgets.app_per_minute,
    )
    budget: RateBudget
    if client is not None:
        budget = RedisRateBudget(client, prefix, **limits)
    elif engine is not None:
        budget = InProcessRateBudget(counter=DatabaseCallCounter(engine), **limits)
    else:
        budget = InProcessRateBudget(**limits)
    return Backends(
        redis=client,
        prefix=prefix,
        locks=make_locks(client, prefix=prefix),
        budget=budget,
        refresh_lock=RefreshLock(client, prefix=prefix),
        rq_queue=settings.rq_queue,
        refresh_gate=make_refresh_gate(
            client,
            prefix,
            cooldown=settings.budgets.refresh_cooldown,
            per_user=settings.budgets.refresh_per_user,
        ),
        fragments=_fragments(settings, client),
        matches=KnownMatches() if settings.fragments.enabled else NoKnownMatches(),
    )


def _fragments(settings: Settings, client: Any) -> FragmentStore:
    wanted = settings.fragments
    if not wanted.enabled:
        return NoFragments()
    if client is not None:
        return RedisFragments(client, settings.redis_prefix, wanted.ttl)
    return InProcessFragments(wanted.max_bytes, wanted.ttl)
