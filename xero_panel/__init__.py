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
from .version import __version__ as __version__

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
