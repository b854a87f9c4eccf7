"""CSRF checks on the plugin's own POSTs, whether or not the host uses ``CSRFProtect``.

Tokens are Flask-WTF's (``csrf_token()`` in templates), read from the ``csrf_token`` form
field or the ``X-CSRFToken`` header that the panel sets for htmx requests.
"""

from __future__ import annotations

from flask import request
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

#: The header htmx requests carry the token in (set with ``hx-headers`` on the panel).
CSRF_HEADER = "X-CSRFToken"


class CSRFError(ValueError):
    """The request carried no valid CSRF token."""


def csrf_token() -> str:
    """The current session's CSRF token, for forms and ``hx-headers``."""
    return str(generate_csrf())


def require_csrf() -> None:
    """Check the current request's CSRF token.

    :raises CSRFError: with a message that says what to do.
    """
    token = request.form.get("csrf_token") or request.headers.get(CSRF_HEADER)
    try:
        validate_csrf(token)
    except ValidationError:
        raise CSRFError(
            "This form has expired or did not come from this page. Reload the page and try again."
        ) from None
