"""Who may show the plugin's pages in a frame: the ``XERO_PANEL_FRAME_ANCESTORS`` check and
the headers it becomes.

A framed *Remove Xero* or *Save* button can be clicked by a visitor who cannot see what it
does (clickjacking), so the plugin's pages may be framed by the host's own origin only,
unless the host names the origins that frame its CRM.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

#: The default: the host's own pages only.
SAME_ORIGIN = "'self'"
_FORBIDDEN = set(";,'\"?#\\")


def frame_ancestors(value: Any) -> str:
    """The checked sources of CSP ``frame-ancestors``: ``'self'``, ``'none'`` or http(s)
    origins (``https://crm.example.com``, ``https://*.example.com``), space-separated.

    :raises ValueError: anything else, naming the setting.
    """
    words = value.split() if isinstance(value, str) else []
    if not words or (words != ["'none'"] and not all(map(_source, words))):
        raise ValueError(
            "XERO_PANEL_FRAME_ANCESTORS must be 'self', 'none' or origins such as"
            f" https://crm.example.com, separated by spaces, not {value!r}."
        )
    return " ".join(words)


def _source(word: str) -> bool:
    if word == SAME_ORIGIN:
        return True
    parts = urlsplit(word)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and parts.path in ("", "/")
        and not _FORBIDDEN & set(word)
    )


def frame_headers(sources: str) -> dict[str, str]:
    """The response headers for checked ``sources``: CSP ``frame-ancestors`` always, and
    ``X-Frame-Options`` for older browsers when it can say the same (``SAMEORIGIN`` for
    ``'self'``, ``DENY`` for ``'none'``; it cannot name other origins)."""
    headers = {"Content-Security-Policy": f"frame-ancestors {sources}"}
    legacy = {SAME_ORIGIN: "SAMEORIGIN", "'none'": "DENY"}.get(sources)
    if legacy:
        headers["X-Frame-Options"] = legacy
    return headers
