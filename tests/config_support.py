"""The plugin's settings as a test builds them: the required keys, the defaults, then
the test's overrides."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet

from xero_panel.config import apply_defaults

KEY = Fernet.generate_key().decode()


def config(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "XERO_PANEL_CLIENT_ID": "id",
        "XERO_PANEL_CLIENT_SECRET": "secret",
        "XERO_PANEL_ENCRYPTION_KEYS": KEY,
    }
    apply_defaults(values)
    values.update(overrides)
    return values
