"""What the panel tells a rep about the cache behind it: at most one notice, from the state
of the record's organisations (:mod:`xero_panel.sync.org_state`), in one plain sentence with
the cache's age, never an HTTP status or Xero's own words. Each state's wording is here and
nowhere else; the admin's wording of the same states is in :mod:`xero_panel.health`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..sync.org_state import Reason
from ..sync.state import CacheStatus
from .formatting import Formatter

#: What reps read after a press of *Refresh* answered from the cache: the record's cooldown,
#: or the user's limit (:mod:`xero_panel.sync.refresh_gate`).
_REFUSED = {
    "cooldown": "This record was refreshed from Xero a moment ago; {cached}.",
    "user-limit": "You have refreshed often in the last minute; {cached}.",
}

__all__ = ["RepNotice", "refresh_notice", "rep_notice", "updated_just_now"]

#: What reps read for each state in trouble; ``{cached}`` is the cache's age.
_SENTENCES: dict[Reason, str] = {
    "slow": "Xero is slow to answer; {cached}.",
    "unreachable": "Xero cannot be reached right now; {cached}.",
    "xero-error": "Xero is having trouble right now; {cached}.",
    "rate-limited": "Xero is busy with this organisation's requests right now; {cached}.",
    "needs-reconnect": "Xero stopped accepting this CRM's connection; {cached} until an admin"
    " reconnects Xero.",
    "reconnecting": "An admin is reconnecting Xero; {cached}.",
}


@dataclass(frozen=True)
class RepNotice:
    """The panel's one notice: its ``data-reason`` and its sentence."""

    reason: Reason
    text: str


def rep_notice(
    status: CacheStatus | None, fmt: Formatter, *, needs_reconnect: bool = False
) -> RepNotice | None:
    """The notice for this cache status (``None`` when all is well, or nothing was asked
    of the sync). A view whose refresh was still waiting for Xero says Xero is slow.
    ``needs_reconnect`` (the connection's status) speaks when no organisation was asked."""
    if status is None:
        if needs_reconnect:
            cached = "no invoices can be shown"
            return RepNotice("needs-reconnect", _SENTENCES["needs-reconnect"].format(cached=cached))
        return None
    reason = status.state.reason
    if status.still_fetching and reason in ("ok", "first-sync"):
        reason = "slow"
    if reason == "ok":
        return None
    if reason == "first-sync":
        return RepNotice("first-sync", "")
    return RepNotice(reason, _SENTENCES[reason].format(cached=_cached(status, fmt)))


def _cached(status: CacheStatus | None, fmt: Formatter) -> str:
    """What the panel shows meanwhile: the cache's age."""
    if status is not None and status.fresh_at is not None:
        return f"showing invoices as of {fmt.ago(status.fresh_at)}"
    return "showing the invoices stored so far"


def updated_just_now(status: CacheStatus | None, asked: dt.datetime) -> bool:
    """Whether a call to Xero asked for at ``asked`` completed and its data was stored: the
    only time the panel says "Updated just now"."""
    if status is None or status.still_fetching:
        return False
    state = status.state
    return (
        state.reason in ("ok", "slow")
        and state.last_call_at is not None
        and state.last_call_at >= asked
    )


def refresh_notice(
    verdict: str, retry_at: dt.datetime, status: CacheStatus | None, fmt: Formatter
) -> RepNotice:
    """The panel's one notice after a press of *Refresh* that was answered from the cache
    (``verdict``: ``cooldown`` or ``user-limit``): why, the cache's age, and when *Refresh*
    works again. When the organisation is in trouble its notice stays (same reason) and
    says when *Refresh* works again too; else the reason is ``rate-limited``."""
    from babel.dates import format_timedelta

    wait = max(retry_at - fmt.now, dt.timedelta(seconds=1))
    again = f"Refresh works again {format_timedelta(wait, add_direction=True, locale=fmt.locale)}."
    trouble = rep_notice(status, fmt)
    if trouble is not None and trouble.text:
        return RepNotice(trouble.reason, f"{trouble.text} {again}")
    refused = _REFUSED[verdict].format(cached=_cached(status, fmt))
    return RepNotice("rate-limited", f"{refused} {again}")
