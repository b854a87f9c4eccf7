"""CSRF checks on the plugin's own POSTs, whether or not the host uses ``CSRFProtect``.

Tokens are Flask-WTF's (``csrf_token()`` in templates), read from the ``csrf_token`` form
field or the ``X-CSRFToken`` header that the panel sets for htmx requests.
"""

from __future__ import annotations

from flask import current_app, request
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

#: The header htmx requests carry the token in (set with ``hx-headers`` on the panel).
CSRF_HEADER = "X-CSRFToken"
#: What a request without a valid token is told.
CSRF_MESSAGE = "This request has no valid security token. Reload the page and try again."


class CSRFError(ValueError):
    """The request carried no valid CSRF token."""


def csrf_token() -> str:
    """The current session's CSRF token, for forms and ``hx-headers``."""
    return str(generate_csrf())


def require_csrf() -> None:
    """Check the current request's CSRF token (unless the app sets
    ``WTF_CSRF_ENABLED = False``, as Flask-WTF's own check allows).

    :raises CSRFError: with :data:`CSRF_MESSAGE`.
    """
    if current_app.config.get("WTF_CSRF_ENABLED", True) is False:
        return
    token = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token")
    try:
        validate_csrf(token)
    except ValidationError:
        raise CSRFError(CSRF_MESSAGE) from None
