"""The exceptions xero-panel raises, one for each thing a user sees.

Configuration mistakes are :class:`RuntimeError` or :class:`ValueError` raised by
:meth:`~xero_panel.XeroPanel.init_app`; everything that can happen while the app runs
derives from :class:`XeroPanelError`.
"""

from __future__ import annotations


class XeroPanelError(Exception):
    """Base class of every runtime error xero-panel raises."""


class NotConnected(XeroPanelError):
    """This CRM account has no active Xero connection: show the connect partial."""


class AuthExpired(XeroPanelError):
    """Xero no longer accepts this connection's tokens (revoked, or the refresh token
    expired or was already spent): an admin has to reconnect."""


class RateLimited(XeroPanelError):
    """Xero (or the local rate budget) refused the call for now.

    :param retry_after: seconds to wait before the next call.
    :param problem: which limit was hit (``minute``, ``day``, ``concurrent``, ``appminute``).
    """

    def __init__(self, message: str, *, retry_after: float, problem: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.problem = problem


class XeroAPIError(XeroPanelError):
    """Xero answered with an error the plugin cannot recover from by itself.

    :param status: the HTTP status code Xero answered with.
    :param detail: Xero's own message, taken from its error body.
    """

    def __init__(self, message: str, *, status: int, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class XeroUnavailable(XeroAPIError):
    """Xero could not be reached or said it is unavailable (timeouts, dropped
    connections, 5xx after retries): keep showing cached data."""
