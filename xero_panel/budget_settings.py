"""The settings of Xero's budgets shared fairly: the reserves of each organisation's minute,
the app-wide limit, and the limits on reps' *Refresh*. Their defaults join
:data:`~xero_panel.config.DEFAULTS`; :func:`read_budget_settings` checks them at start-up
with messages that name the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .setting_checks import whole_number

__all__ = ["BUDGET_DEFAULTS", "BudgetSettings", "read_budget_settings"]

BUDGET_DEFAULTS: dict[str, Any] = {
    #: Calls of each organisation's minute that reps' refreshes and panel views may not use:
    #: kept for webhook fetches, reconciliations and full syncs (0 to 59).
    "XERO_PANEL_RATE_BACKGROUND_RESERVE": 20,
    #: Calls of each organisation's minute that reconciliations and full syncs may not use:
    #: kept for webhook fetches, refreshes and views (0 to 59).
    "XERO_PANEL_RATE_INTERACTIVE_RESERVE": 10,
    #: Calls a minute the app may make across every organisation (Xero's app-wide limit,
    #: 10,000); background work yields first as it nears.
    "XERO_PANEL_APP_RATE_LIMIT_PER_MINUTE": 10_000,
    #: Seconds after a record's *Refresh* during which another press of it shows that result
    #: and when *Refresh* works again, without calling Xero. ``0`` turns the cooldown off.
    "XERO_PANEL_REFRESH_COOLDOWN": 30,
    #: *Refresh* presses one CRM user may make in any minute (over all records); more are
    #: answered from the cache with when *Refresh* works again. ``0`` turns the limit off.
    "XERO_PANEL_REFRESH_PER_USER_PER_MINUTE": 6,
}


@dataclass(frozen=True)
class BudgetSettings:
    """The budget settings of one app (read with the others by ``init_app``).

    :meta private:
    """

    background_reserve: int = 20
    interactive_reserve: int = 10
    app_per_minute: int = 10_000
    refresh_cooldown: int = 30
    refresh_per_user: int = 6


def read_budget_settings(config: Mapping[str, Any]) -> BudgetSettings:
    """Check and read the budget keys. A reserve is below Xero's 60; with
    ``XERO_PANEL_RATE_LIMIT_PER_MINUTE`` lowered below a reserve, each kind of call still gets
    one call a minute (:class:`~xero_panel.xero.call_kinds.Shares`).

    :raises ValueError: a value is not valid; the message names the key.
    """

    def get(key: str, minimum: int = 0, maximum: int | None = None) -> int:
        return whole_number(key, config.get(key, BUDGET_DEFAULTS[key]), minimum, maximum)

    return BudgetSettings(
        background_reserve=get("XERO_PANEL_RATE_BACKGROUND_RESERVE", 0, 59),
        interactive_reserve=get("XERO_PANEL_RATE_INTERACTIVE_RESERVE", 0, 59),
        app_per_minute=get("XERO_PANEL_APP_RATE_LIMIT_PER_MINUTE", 1, 10_000),
        refresh_cooldown=get("XERO_PANEL_REFRESH_COOLDOWN", 0, 3600),
        refresh_per_user=get("XERO_PANEL_REFRESH_PER_USER_PER_MINUTE", 0, 600),
    )
