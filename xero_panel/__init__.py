"""xero-panel: a read-only Xero invoice panel for Flask CRMs."""

from __future__ import annotations

from .exceptions import (
    AuthExpired,
    NotConnected,
    RateLimited,
    XeroAPIError,
    XeroPanelError,
    XeroUnavailable,
)
from .extension import XeroPanel
from .records import CRMRecord

__version__ = "0.1.0.dev0"

__all__ = [
    "AuthExpired",
    "CRMRecord",
    "NotConnected",
    "RateLimited",
    "XeroAPIError",
    "XeroPanel",
    "XeroPanelError",
    "XeroUnavailable",
]
