"""Waits for the rate budget that a chunked job gives up when more urgent work is queued.

A chunk of a full sync (:mod:`xero_panel.sync.full`) may find its organisation's minute used
up and wait, inside :meth:`~xero_panel.xero.rate_budget.RateBudget.acquire`, for up to a
minute, holding its worker while a webhook fetch or a rep's refresh queues behind it. Run
under :func:`yield_waits_when`, such a wait asks ``check`` at least every
:data:`CHECK_EVERY` seconds and, as soon as it says so, gives its place up and raises
:class:`WaitAbandoned`: no call was made, and the sync stops at that page as at a chunk's
end. Outside it (views, refreshes, reconciliations) waits are as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["CHECK_EVERY", "WaitAbandoned", "step_for", "wants_to_yield", "yield_waits_when"]

#: At most this many seconds of a yielding wait pass between two checks.
CHECK_EVERY = 1.0

_check: ContextVar[Callable[[], bool] | None] = ContextVar("xero_panel_yield_check", default=None)


class WaitAbandoned(Exception):
    """A call gave up its wait for the budget because more urgent work is queued (no call
    was made). Not an error: the caller stops there and goes on later."""


@contextmanager
def yield_waits_when(check: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block, waits for the budget give up when ``check()`` is true."""
    token = _check.set(check)
    try:
        yield
    finally:
        _check.reset(token)


def wants_to_yield() -> bool:
    """Whether the current wait should be given up now."""
    check = _check.get()
    return check is not None and check()


def step_for(wait: float) -> float:
    """How long to sleep of a ``wait``: all of it, or at most :data:`CHECK_EVERY` while a
    check is set."""
    return wait if _check.get() is None else min(wait, CHECK_EVERY)
