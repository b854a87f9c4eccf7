"""The budgets' settings (xero_panel/budget_settings.py): defaults, checks that name the key,
and the budget and refresh gate the backends build from them."""

from __future__ import annotations

import pytest

from tests.config_support import config
from xero_panel.backends import make_backends
from xero_panel.budget_settings import BudgetSettings
from xero_panel.config import read_settings
from xero_panel.sync.refresh_gate import InProcessRefreshGate
from xero_panel.xero.call_kinds import Shares
from xero_panel.xero.rate_budget import InProcessRateBudget


def test_defaults_read_as_documented() -> None:
    assert read_settings(config()).budgets == BudgetSettings(
        background_reserve=20,
        interactive_reserve=10,
        app_per_minute=10_000,
        refresh_cooldown=30,
        refresh_per_user=6,
    )


def test_values_from_the_environment_are_converted() -> None:
    settings = read_settings(
        config(XERO_PANEL_REFRESH_COOLDOWN="0", XERO_PANEL_APP_RATE_LIMIT_PER_MINUTE="500")
    )
    assert (settings.budgets.refresh_cooldown, settings.budgets.app_per_minute) == (0, 500)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("XERO_PANEL_RATE_BACKGROUND_RESERVE", 60, "at least 0 and at most 59, not 60"),
        ("XERO_PANEL_RATE_BACKGROUND_RESERVE", -1, "at least 0 and at most 59, not -1"),
        ("XERO_PANEL_RATE_INTERACTIVE_RESERVE", "ten", "must be a whole number, not 'ten'"),
        ("XERO_PANEL_APP_RATE_LIMIT_PER_MINUTE", 0, "at least 1 and at most 10000, not 0"),
        ("XERO_PANEL_APP_RATE_LIMIT_PER_MINUTE", 20_000, "at most 10000, not 20000"),
        ("XERO_PANEL_REFRESH_COOLDOWN", True, "must be a whole number, not True"),
        ("XERO_PANEL_REFRESH_PER_USER_PER_MINUTE", -3, "at least 0 and at most 600, not -3"),
    ],
)
def test_bad_values_name_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError) as bad:
        read_settings(config(**{key: value}))
    assert str(bad.value).startswith(key) and message in str(bad.value)


def test_a_lowered_minute_still_serves_every_kind() -> None:
    settings = read_settings(config(XERO_PANEL_RATE_LIMIT_PER_MINUTE=10))
    budget = make_backends(settings).budget
    assert isinstance(budget, InProcessRateBudget)
    with budget.acquire("t", max_wait=0, kind="refresh"):  # 10 - 20 reserved: still 1
        pass


def test_backends_use_the_settings() -> None:
    settings = read_settings(
        config(
            XERO_PANEL_RATE_BACKGROUND_RESERVE=15,
            XERO_PANEL_RATE_INTERACTIVE_RESERVE=5,
            XERO_PANEL_APP_RATE_LIMIT_PER_MINUTE=700,
        )
    )
    backends = make_backends(settings)
    assert isinstance(backends.budget, InProcessRateBudget)
    assert backends.budget.shares == Shares(15, 5)
    assert backends.budget.app_per_minute == 700
    assert isinstance(backends.refresh_gate, InProcessRefreshGate)
