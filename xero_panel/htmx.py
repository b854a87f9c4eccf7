"""Every htmx rule the plugin follows, in one place.

The plugin reads htmx's request headers with htmx-flask's :class:`HtmxHeaders` on the
plain ``request.headers``: it never replaces the host app's request class.
"""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template, request
from htmx_flask.requests import HtmxHeaders


def htmx_details() -> HtmxHeaders:
    """htmx's headers for the current request; true when it came from htmx."""
    return HtmxHeaders(request.headers)


def is_htmx() -> bool:
    """Whether the current request was made by htmx (``HX-Request: true``), which means
    the answer is a partial, not a whole page. History restores want the whole page."""
    details = htmx_details()
    return bool(details) and not details.history_restore_request


def add_vary(response: Response) -> Response:
    """Mark a response that differs with and without htmx, so caches keep both."""
    response.vary.add("HX-Request")
    return response


def render_partial_or_page(
    partial: str, page: str, *, status: int = 200, **context: Any
) -> Response:
    """Render ``partial`` for htmx and ``page`` (which includes the partial) otherwise."""
    template = partial if is_htmx() else page
    response = make_response(render_template(template, partial=partial, **context), status)
    return add_vary(response)
