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

#: The release. Written here only: the wheel and the sdist take it from this line
#: (``[tool.hatch.version]`` in pyproject.toml), and the emulator's distribution, released
#: with it, carries the same (tests/test_packaging.py checks all three).
__version__ = "0.2.0"

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
