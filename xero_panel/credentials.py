"""The Xero app's credentials: required to start, except in a host's own tests.

A host's test suite builds its app with ``TESTING = True`` and, usually, no Xero app. There
``init_app`` starts without ``XERO_PANEL_CLIENT_ID`` and ``XERO_PANEL_CLIENT_SECRET`` (and
makes a throwaway ``XERO_PANEL_ENCRYPTION_KEYS`` key when none is given); the integration page
then says Xero is not configured and offers no *Connect*. Anywhere else a missing key stops
the start with a :class:`RuntimeError` that names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet

__all__ = ["NOT_CONFIGURED", "REQUIRED", "with_credentials"]

#: The keys the plugin cannot connect to Xero without.
REQUIRED = ("XERO_PANEL_CLIENT_ID", "XERO_PANEL_CLIENT_SECRET", "XERO_PANEL_ENCRYPTION_KEYS")

#: What the integration page and the connect route say when the app has no Xero credentials.
NOT_CONFIGURED = (
    "Xero is not configured: set XERO_PANEL_CLIENT_ID and XERO_PANEL_CLIENT_SECRET"
    " (your Xero app's) to connect."
)

#: The client id and secret that stand in for missing ones in tests (never sent to Xero: the
#: connect route refuses first).
_NOT_CONFIGURED_VALUE = "xero-panel-not-configured"


def with_credentials(config: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """``config`` with every required key set, and whether Xero is configured.

    :returns: ``(config, True)`` when all required keys are set; with ``TESTING`` and some
        missing, a copy with stand-ins and ``False`` when the client id or secret is missing.
    :raises RuntimeError: a required key is missing outside ``TESTING``; the message names it.
    """
    missing = [key for key in REQUIRED if not config.get(key)]
    if not missing:
        return config, True
    if not config.get("TESTING"):
        raise RuntimeError(f"{missing[0]} is not set: xero-panel needs it to connect to Xero.")
    filled = dict(config)
    for key in missing:
        filled[key] = (
            Fernet.generate_key().decode()
            if key == "XERO_PANEL_ENCRYPTION_KEYS"
            else _NOT_CONFIGURED_VALUE
        )
    configured = not {"XERO_PANEL_CLIENT_ID", "XERO_PANEL_CLIENT_SECRET"} & set(missing)
    return filled, configured
