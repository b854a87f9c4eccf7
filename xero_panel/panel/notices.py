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

__all__ = ["RepNotice", "rep_notice", "updated_just_now"]

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
    if status.fresh_at is not None:
        cached = f"showing invoices as of {fmt.ago(status.fresh_at)}"
    else:
        cached = "showing the invoices stored so far"
    return RepNotice(reason, _SENTENCES[reason].format(cached=cached))


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
