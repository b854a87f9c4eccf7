"""The settings of webhook-first freshness, their defaults and their checks (kept out of
:mod:`~xero_panel.config`, which reads them through :func:`read_webhook_settings`).

:meta private:
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["WEBHOOK_DEFAULTS", "WebhookSettings", "read_webhook_settings"]

WEBHOOK_DEFAULTS: dict[str, Any] = {
    #: Seconds without a webhook delivery naming an organisation after which its panel views
    #: fall back to polling Xero every ``XERO_PANEL_CACHE_TTL`` (until the next delivery).
    "XERO_PANEL_WEBHOOK_QUIET_AFTER": 10800,
    #: Seconds between the catch-up syncs of an organisation whose webhooks arrive (one
    #: ``If-Modified-Since`` call when nothing changed, for what a webhook cannot announce,
    #: such as a payment, or missed); each organisation's is up to 10% earlier (jitter).
    "XERO_PANEL_WEBHOOK_RECONCILE_INTERVAL": 3600,
}

#: The shortest quiet threshold and catch-up interval accepted: below a minute, webhook mode
#: would poll about as often as the TTL does.
_MINIMUM = 60


@dataclass(frozen=True)
class WebhookSettings:
    """The webhook-first settings of one app.

    :meta private:
    """

    quiet_after: int = 10800
    reconcile_interval: int = 3600


def read_webhook_settings(config: Mapping[str, Any]) -> WebhookSettings:
    """Read and check the webhook-first keys of a Flask config.

    :raises ValueError: a value is not a whole number of seconds of at least 60; the
        message names the key.
    """
    return WebhookSettings(
        quiet_after=_seconds(config, "XERO_PANEL_WEBHOOK_QUIET_AFTER"),
        reconcile_interval=_seconds(config, "XERO_PANEL_WEBHOOK_RECONCILE_INTERVAL"),
    )


def _seconds(config: Mapping[str, Any], key: str) -> int:
    value = config.get(key, WEBHOOK_DEFAULTS[key])
    if isinstance(value, bool):
        raise ValueError(f"{key} must be a whole number of seconds, not {value!r}.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a whole number of seconds, not {value!r}.") from None
    if number < _MINIMUM:
        raise ValueError(f"{key} must be at least {_MINIMUM} seconds, not {number}.")
    return number
