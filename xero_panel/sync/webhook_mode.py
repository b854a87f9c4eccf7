"""Webhook-first freshness: while an organisation's webhooks arrive, its panel views poll
Xero no more; when they go quiet or fail, views poll again every TTL.

How "verified and arriving" is known: Xero sends events only to an endpoint that passed its
*Intent to Receive* check, and the route accepts only correctly signed deliveries, so an
accepted delivery naming a tenant is proof of both. The route notes it per tenant
(:class:`~xero_panel.models.WebhookTenant`, :mod:`~xero_panel.sync.webhook_ingest`). An
organisation is in **webhook mode** (:func:`mode_of`) while:

* its tenant's last accepted delivery is less than ``XERO_PANEL_WEBHOOK_QUIET_AFTER``
  seconds old (default 3 hours), and
* no fetch of a webhook's changes failed since (:func:`record_failure`; the next delivery
  clears it).

Otherwise it is in **polling mode**, as in 0.2: a view past ``XERO_PANEL_CACHE_TTL`` runs an
incremental sync. In webhook mode a view runs none; instead, at most every
``XERO_PANEL_WEBHOOK_RECONCILE_INTERVAL`` seconds (default an hour, up to 10% earlier per
organisation so a fleet does not call at once: :func:`jittered`), the first view queues a
catch-up sync in the background (one ``If-Modified-Since`` call when nothing changed), which
brings what no webhook announces (payments) or what one missed. The daily reconciliation
(``XERO_PANEL_RECONCILE_INTERVAL``) runs in both modes.

A quiet organisation (no change, so no webhook) falls back to polling after the threshold
and returns to webhook mode with its next delivery: silence and a disabled webhook look the
same from here, and polling is the safe reading.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from ..models import WebhookTenant
from ..webhook_settings import read_webhook_settings

__all__ = ["JITTER", "Mode", "WebhookModes", "jittered", "mode_of", "record_failure"]

#: The most a catch-up interval is shortened, as a share of it, per organisation.
JITTER = 0.1


@dataclass(frozen=True)
class Mode:
    """How an organisation's cache is kept fresh, and since when (or why not by webhooks)."""

    name: Literal["webhooks", "polling"]
    since: dt.datetime | None = None
    #: Why the organisation polls (``None`` in webhook mode).
    reason: str | None = None

    @property
    def text(self) -> str:
        """The health page's words: ``mode: webhooks since ...`` or ``polling: <why>``."""
        if self.name == "webhooks":
            when = f" since {self.since.strftime('%Y-%m-%d %H:%M')} UTC" if self.since else ""
            return f"mode: webhooks{when}"
        return f"polling: {self.reason}"


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} days"
    if seconds >= 3600:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, int(seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def mode_of(
    heard: WebhookTenant | None, now: dt.datetime, *, enabled: bool, quiet_after: float
) -> Mode:
    """The mode of an organisation whose tenant's webhooks stand as ``heard`` (``None``: no
    delivery ever named it).

    :param enabled: whether the webhook route is on (``XERO_PANEL_WEBHOOK_KEY`` set).
    :param quiet_after: ``XERO_PANEL_WEBHOOK_QUIET_AFTER``.
    """
    if not enabled:
        return Mode("polling", reason="webhooks are off (no XERO_PANEL_WEBHOOK_KEY)")
    if heard is None or heard.last_delivery_at is None:
        return Mode("polling", reason="no webhook received yet")
    if heard.failed_at is not None:
        return Mode("polling", heard.failed_at, f"a webhook failed ({heard.failure})")
    quiet = (now - heard.last_delivery_at).total_seconds()
    if quiet >= quiet_after:
        since = heard.last_delivery_at + dt.timedelta(seconds=quiet_after)
        return Mode("polling", since, f"no webhook for {_duration(quiet)}")
    return Mode("webhooks", heard.arriving_since or heard.last_delivery_at)


def jittered(interval: float, organisation_id: int, jitter: float = JITTER) -> float:
    """``interval`` shortened by up to ``jitter`` of it, by an amount fixed per organisation
    (so organisations whose webhooks started together do not catch up together)."""
    digest = hashlib.sha1(str(organisation_id).encode(), usedforsecurity=False).digest()
    share = int.from_bytes(digest[:4], "big") / 2**32
    return interval * (1.0 - jitter * share)


def record_failure(
    session_factory: Callable[[], Session],
    tenant_ids: Iterable[str],
    problem: str,
    now: dt.datetime,
) -> None:
    """Note that fetching a webhook's changes failed for these tenants: their organisations
    poll until the next delivery. Commits."""
    tenants = sorted({t.lower() for t in tenant_ids if t})
    if not tenants:
        return
    with session_factory() as session:
        session.execute(
            update(WebhookTenant)
            .where(WebhookTenant.tenant_id.in_(tenants))
            .values(failed_at=now, failure=problem[:500])
        )
        session.commit()


@dataclass(frozen=True)
class WebhookModes:
    """The webhook-first rules the scheduler applies to each view.

    :param enabled: whether the webhook route is on.
    :param quiet_after: ``XERO_PANEL_WEBHOOK_QUIET_AFTER``.
    :param reconcile_interval: ``XERO_PANEL_WEBHOOK_RECONCILE_INTERVAL``.
    """

    enabled: bool = False
    quiet_after: float = 10800.0
    reconcile_interval: float = 3600.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, enabled: bool) -> WebhookModes:
        """The rules of an app's config (``enabled``: whether a webhook key is set)."""
        webhooks = read_webhook_settings(config)
        return cls(enabled, float(webhooks.quiet_after), float(webhooks.reconcile_interval))

    def mode(self, heard: WebhookTenant | None, now: dt.datetime) -> Mode:
        """:func:`mode_of` with these settings."""
        return mode_of(heard, now, enabled=self.enabled, quiet_after=self.quiet_after)

    def freshness(
        self, heard: WebhookTenant | None, organisation_id: int, now: dt.datetime, ttl: float
    ) -> tuple[float, bool]:
        """For a view: the seconds the organisation's cache counts as fresh, and whether its
        refresh runs in the background. Polling mode: ``ttl``, and the view waits for it;
        webhook mode: the (jittered) catch-up interval, in the background."""
        if self.mode(heard, now).name == "webhooks":
            return jittered(self.reconcile_interval, organisation_id), True
        return ttl, False
