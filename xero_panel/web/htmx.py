"""Every htmx header the plugin reads or writes goes through here.

The plugin reads htmx's request headers with htmx-flask's :class:`HtmxHeaders` on the
plain ``request.headers`` (it never replaces the host app's request class) and sets htmx's
response headers with htmx-flask's ``make_response``.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, render_template, request
from htmx_flask import make_response as htmx_response
from htmx_flask.requests import HtmxHeaders
from werkzeug.wrappers import Response as BaseResponse

R = TypeVar("R", bound=BaseResponse)


def htmx_details() -> HtmxHeaders:
    """htmx's headers for the current request; true when it came from htmx."""
    return HtmxHeaders(request.headers)


def is_htmx() -> bool:
    """Whether the current request was made by htmx (``HX-Request: true``), which means
    the answer is a partial, not a whole page. History restores want the whole page."""
    details = htmx_details()
    return bool(details) and not details.history_restore_request


def current_url() -> str | None:
    """The browser's URL when htmx made the request (``HX-Current-URL``), else ``None``.
    Only its path and query are ever used (:func:`same_origin_path`)."""
    url = htmx_details().current_url
    return url if isinstance(url, str) and url else None


def same_origin_path(url: str | None) -> str | None:
    """``url`` when it is a path on this site (``/contacts/7?xp_view=paid``), else ``None``:
    never a scheme, a host, or a path a browser reads as one (``//evil.test/x``,
    ``/\\evil.test``), so ``HX-Replace-Url`` cannot leave the site."""
    if not url or not url.startswith("/") or url[1:2] in ("/", "\\"):
        return None
    if any(ord(c) < 0x21 or c == "\\" for c in url):
        return None
    return url


#: The htmx request headers the plugin reads (checked by the request guard).
REQUEST_HEADERS = ("HX-Request", "HX-History-Restore-Request", "HX-Current-URL", "HX-Target")


def request_headers() -> list[tuple[str, str]]:
    """The htmx request headers the current request carries, as (name, value)."""
    return [(n, v) for n in REQUEST_HEADERS if (v := request.headers.get(n)) is not None]


def current_url_problem() -> str | None:
    """Why ``HX-Current-URL`` cannot be used (it is not a URL), or ``None``."""
    url = request.headers.get("HX-Current-URL")
    if not url:
        return None
    try:
        urlsplit(url)
    except ValueError:
        return "The header HX-Current-URL is not a URL."
    return None


#: The event a panel's answer fires when a record's link to a Xero contact changed (the
#: health page's match coverage listens for it).
LINKED_EVENT = "xero-panel-linked"


def trigger(response: R, event: str) -> R:
    """Fire ``event`` on the page once htmx has the answer (``HX-Trigger``)."""
    response.headers["HX-Trigger"] = event
    return response


def add_vary(response: R) -> R:
    """Mark a response that differs with and without htmx, so caches keep both (every
    plugin response gets it from the request guard's ``secure_headers``)."""
    response.vary.add("HX-Request")
    return response


def render_partial_or_page(
    partial: str,
    page: str,
    *,
    status: int = 200,
    retarget: str | None = None,
    reswap: str | None = None,
    replace_url: str | None = None,
    **context: Any,
) -> Response:
    """Render ``partial`` for htmx and ``page`` (which includes the partial) otherwise.

    :param retarget: a CSS selector htmx swaps the answer into instead (``HX-Retarget``).
    :param reswap: how htmx swaps it (``HX-Reswap``).
    :param replace_url: the URL htmx puts in the address bar (``HX-Replace-Url``); sent
        only when it is a path of this site (:func:`same_origin_path`).
    """
    template = partial if is_htmx() else page
    response = htmx_response(
        render_template(template, partial=partial, **context),
        status,
        retarget=retarget,
        reswap=reswap,
        replace_url=same_origin_path(replace_url),
    )
    assert isinstance(response, Response)
    return add_vary(response)


def text_answer(text: str, *, replace_url: str | None = None) -> Response:
    """An answer of already rendered HTML, with the headers :func:`render_partial_or_page`
    sets (``HX-Replace-Url`` when it is a path of this site, ``Vary: HX-Request``)."""
    response = htmx_response(text, 200, replace_url=same_origin_path(replace_url))
    assert isinstance(response, Response)
    return add_vary(response)
