"""Who a Xero call is for, and what that entitles it to: the priorities and shares of the
rate budgets.

Every call takes its slot from the budget with a :data:`CallKind`. In order of priority:

=============  ===============================================  ===============  ============
kind           what makes the call                              tenant's minute  app's minute
=============  ===============================================  ===============  ============
``webhook``    fetching what a webhook event names              all of it        100%
``refresh``    a rep's *Refresh*, an admin's action             minus reserve    100%
``view``       a panel view's TTL refresh or targeted fetch     minus reserve    90%
``reconcile``  the background reconciliation                    minus 10         80%
``full``       a full sync (first sync, *Refresh now*, CLI)     minus 10         80%
=============  ===============================================  ===============  ============

Refreshes and views together (the ``interactive`` share) may make at most the minute's
calls less ``XERO_PANEL_RATE_BACKGROUND_RESERVE`` (20 of Xero's 60): a rep's refresh loop, or
many reps viewing, leave that many calls of each organisation's minute for webhook fetches
and syncs. Reconciliations and full syncs together (the ``bulk`` share) leave
``XERO_PANEL_RATE_INTERACTIVE_RESERVE`` (10) for webhooks, refreshes and views, so a first
full sync of a large organisation runs at the budget's pace (50 a minute) without making a
rep's *Refresh* wait a minute. Every kind also stays within the whole minute. Of the app's
minute (Xero's 10,000 calls across every organisation) background work yields first: full
syncs and reconciliations stop at 80% of it, view refreshes at 90%, webhooks and refreshes
may use all of it.

On top of the shares, a call waits while a call of a higher priority is waiting for the same
organisation (or for the app's minute), so the next free slot goes to the most urgent
caller: a waiting webhook fetch is delayed by at most the call already under way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "APP_SHARES",
    "CALL_KINDS",
    "PRIORITY",
    "CallKind",
    "ShareName",
    "Shares",
    "Waiters",
]

#: Who a call is for; see the module's table.
CallKind = Literal["webhook", "refresh", "view", "reconcile", "full"]
#: The shares of a tenant's minute: refreshes and views are ``interactive``, reconciliations
#: and full syncs ``bulk``; webhook fetches are limited only by the whole minute.
ShareName = Literal["webhook", "interactive", "bulk"]
#: Every kind, most urgent first.
CALL_KINDS: tuple[CallKind, ...] = ("webhook", "refresh", "view", "reconcile", "full")
#: Lower is more urgent.
PRIORITY: dict[CallKind, int] = {kind: rank for rank, kind in enumerate(CALL_KINDS)}
#: The part of the app's minute each kind may fill: background work yields first.
APP_SHARES: dict[CallKind, float] = {
    "webhook": 1.0,
    "refresh": 1.0,
    "view": 0.9,
    "reconcile": 0.8,
    "full": 0.8,
}


@dataclass(frozen=True, slots=True)
class Shares:
    """How a budget divides each minute between the kinds of call.

    :ivar background_reserve: calls of a tenant's minute that ``refresh`` and ``view`` calls
        may not use (kept for webhook fetches, reconciliations and full syncs).
    :ivar interactive_reserve: calls of a tenant's minute that ``reconcile`` and ``full``
        calls may not use (kept for webhook fetches, refreshes and views).
    """

    background_reserve: int = 0
    interactive_reserve: int = 0

    def share(self, kind: CallKind) -> ShareName:
        """Which share of the minute a ``kind`` call counts against."""
        if kind in ("refresh", "view"):
            return "interactive"
        if kind in ("reconcile", "full"):
            return "bulk"
        return "webhook"

    def share_ceiling(self, kind: CallKind, per_minute: int) -> int:
        """How many calls of ``kind``'s share may be in the tenant's minute window when a
        ``kind`` call starts (at least 1, so every kind makes progress). All kinds together
        stay within ``per_minute`` as well."""
        share = self.share(kind)
        if share == "interactive":
            return max(1, per_minute - self.background_reserve)
        if share == "bulk":
            return max(1, per_minute - self.interactive_reserve)
        return per_minute

    @staticmethod
    def app_ceiling(kind: CallKind, app_per_minute: int) -> int:
        """How many calls may be in the app's minute window when a ``kind`` call starts."""
        return max(1, math.floor(app_per_minute * APP_SHARES[kind]))


class Waiters:
    """Calls waiting for room, per scope (a tenant, or the app's minute), in one process.

    Not thread-safe on its own: the in-process budget calls it under its lock. A waiter is
    forgotten when it takes its slot or gives up, and in any case at its expiry.
    """

    def __init__(self) -> None:
        self._scopes: dict[str, dict[str, tuple[int, float]]] = {}

    def wait(self, scope: str, token: str, kind: CallKind, until: float) -> None:
        """Say that ``token`` (a ``kind`` call) waits in ``scope`` until about ``until``."""
        self._scopes.setdefault(scope, {})[token] = (PRIORITY[kind], until)

    def forget(self, token: str) -> None:
        """``token`` took its slot or gave up."""
        for waiting in self._scopes.values():
            waiting.pop(token, None)

    def outranked(self, scope: str, token: str, kind: CallKind, now: float) -> bool:
        """Whether a more urgent call than ``token`` waits in ``scope``."""
        waiting = self._scopes.get(scope)
        if not waiting:
            return False
        for other, (_rank, until) in list(waiting.items()):
            if until <= now:
                del waiting[other]
        mine = PRIORITY[kind]
        return any(rank < mine for other, (rank, _u) in waiting.items() if other != token)
