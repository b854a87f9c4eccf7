"""The edge of every plugin request: size limits and input checks before any view runs, and
the headers every plugin response carries.

:func:`install` (called by :func:`~xero_panel.web.blueprint.make_blueprint`) puts
:func:`guard_request` *first* among the app's ``before_request`` functions, so it runs before
the host's own hooks (a host ``CSRFProtect`` reads the form) for the plugin's routes, and
adds :func:`secure_headers` to the blueprint's ``after_request`` functions.

What :func:`guard_request` holds, for the plugin's routes only (the host's limits, such as
``MAX_CONTENT_LENGTH``, are left alone):

* a body limit, set before anything reads the body: :data:`WEBHOOK_MAX_BYTES` for Xero's
  webhook, :data:`FORM_MAX_BYTES` for everything else. A bigger ``Content-Length`` is
  refused at once, and a chunked body is cut off when it passes the limit; both answer 413.
* every path value, query parameter and form field: no control characters (NUL
  included), at most :data:`MAX_VALUE_LENGTH` characters (path ids at most their column's
  length), at most :data:`MAX_FIELDS` fields; integer ids from 1 to 2**31 - 1.
* htmx's request headers (:func:`~xero_panel.web.htmx.request_headers`): no control
  characters, and the browser's URL must be a URL.

A bad value raises :class:`BadInput`, which the blueprint answers as a 400 ``panel-error``
with a plain message.
"""

from __future__ import annotations

import contextlib
import io
import json
import re

from flask import Blueprint, Flask, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from ..framing import frame_headers
from ..state import get_state
from .htmx import add_vary, current_url_problem, request_headers

#: The biggest webhook delivery read: 10 MiB. Xero batches events into one delivery, each
#: about 330 bytes of JSON; after a bulk import or a replay of stored events one delivery
#: carries thousands (5,000 are about 1.6 MB), and a refused one is retried for 24 hours and
#: then disables the webhook. 10 MiB holds about 30,000 events and still bounds what one
#: request makes the app read and parse (the limit is checked before the signature).
WEBHOOK_MAX_BYTES = 10 * 1024 * 1024
#: The biggest body of any other plugin request: its forms hold a CSRF token, a few ids and
#: the panel's parameters, well under 2 KiB.
FORM_MAX_BYTES = 16 * 1024
#: The longest query parameter, form field or htmx header value accepted.
MAX_VALUE_LENGTH = 2048
#: The most query parameters plus form fields one request may carry.
MAX_FIELDS = 64
#: The largest integer id in a path (PostgreSQL's ``integer``).
MAX_INT_ID = 2**31 - 1
#: The longest value of each path variable (its database column's length).
PATH_LIMITS = {"record_type": 20, "record_id": 128, "invoice_id": 64, "contact_id": 64}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WEBHOOK_ENDPOINT = "xero_panel.webhook"
_STATIC_ENDPOINT = "xero_panel.static"
_NO_STORE = "private, no-store"


def install(blueprint: Blueprint) -> None:
    """Run :func:`guard_request` before every other request hook of the app, and add the
    response headers to every response of ``blueprint``."""

    def first_hook(state: object) -> None:
        app: Flask = state.app  # type: ignore[attr-defined]
        app.before_request_funcs.setdefault(None, []).insert(0, guard_request)

    blueprint.record_once(first_hook)
    blueprint.after_request(secure_headers)


def guard_request() -> None:
    """Set the body limit and check the request's values (plugin routes only).

    :raises RequestEntityTooLarge: the declared body is over the limit (413).
    :raises BadInput: a value is not acceptable (400).
    """
    if request.blueprint != "xero_panel" or request.endpoint == _STATIC_ENDPOINT:
        return
    webhook = request.endpoint == _WEBHOOK_ENDPOINT
    limit = WEBHOOK_MAX_BYTES if webhook else FORM_MAX_BYTES
    _set_request_limits(limit)
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    _bound_streamed_body(limit)
    if webhook:
        return  # Xero's rules: 401 or 200, decided by the signature alone
    _check_path(request.view_args or {})
    _check_fields("parameter", list(request.args.items(multi=True)))
    if request.method != "GET" and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        _check_fields("form field", list(request.form.items(multi=True)))
    _check_headers()


def _set_request_limits(limit: int) -> None:
    """Werkzeug's own limits for this request's body and form. Flask before 3.1 reads them
    from the app's config only (no setter); the checks here bound the body either way."""
    for name, value in (
        ("max_content_length", limit),
        ("max_form_memory_size", limit),
        ("max_form_parts", MAX_FIELDS),
    ):
        with contextlib.suppress(AttributeError):
            setattr(request, name, value)


def _bound_streamed_body(limit: int) -> None:
    """A body without ``Content-Length`` (chunked) that the server lets us read: read at
    most ``limit`` + 1 bytes of it now, refuse it if there is more, else hand the views
    that much as an ordinary body."""
    environ = request.environ
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not chunked or not environ.get("wsgi.input_terminated"):
        return  # werkzeug reads nothing of a body it cannot bound
    try:
        data = environ["wsgi.input"].read(limit + 1)
    except (OSError, ValueError):  # a malformed chunked body
        raise _bad("The request body could not be read.") from None
    if len(data) > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))
    del environ["HTTP_TRANSFER_ENCODING"]


def secure_headers(response: BaseResponse) -> BaseResponse:
    """``Cache-Control: private, no-store`` (the plugin's pages and partials show invoices
    and settings), ``X-Content-Type-Options: nosniff``, the htmx ``Vary`` and the framing
    headers (``XERO_PANEL_FRAME_ANCESTORS``: CSP ``frame-ancestors`` and
    ``X-Frame-Options``) on every plugin response; static files keep their own caching."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint == _STATIC_ENDPOINT:
        return response
    response.headers["Cache-Control"] = _NO_STORE
    response.headers.pop("Expires", None)
    for name, value in frame_headers(get_state().settings.frame_ancestors).items():
        if name == "Content-Security-Policy":
            # A policy of the view's own stays; ours is added as a second one (a browser
            # enforces every policy it is sent).
            if "frame-ancestors" not in response.headers.get(name, ""):
                response.headers.add(name, value)
        else:
            response.headers.setdefault(name, value)
    return add_vary(response)


class BadInput(ValueError):
    """A request value the guard refuses; the blueprint answers it as a 400 ``panel-error``
    with this message."""


def _bad(message: str) -> BadInput:
    return BadInput(message)


def _check_text(what: str, value: str, limit: int) -> None:
    if _CONTROL.search(value):
        raise _bad(f"The {what} has a control character; send plain text.")
    if len(value) > limit:
        raise _bad(f"The {what} is too long: at most {limit} characters.")


def _check_path(values: dict[str, object]) -> None:
    for name, value in values.items():
        if isinstance(value, int):
            if not 1 <= value <= MAX_INT_ID:
                raise _bad(f"{name} must be a whole number from 1 to {MAX_INT_ID}.")
        elif isinstance(value, str):
            _check_text(f"path value {name}", value, PATH_LIMITS.get(name, MAX_VALUE_LENGTH))


def _check_fields(kind: str, items: list[tuple[str, str]]) -> None:
    if len(items) > MAX_FIELDS:
        raise _bad(f"Too many {kind}s: at most {MAX_FIELDS}.")
    for name, value in items:
        _check_text(f"{kind} name", name, 100)
        _check_text(f"{kind} {name}", value, MAX_VALUE_LENGTH)


def _check_headers() -> None:
    for name, value in request_headers():
        _check_text(f"header {name}", value, MAX_VALUE_LENGTH)
    problem = current_url_problem()
    if problem is not None:
        raise _bad(problem)


#: The deepest nesting of arrays and objects a webhook delivery may have (Xero's is four:
#: the delivery, ``events``, an event, its ``data``).
MAX_JSON_DEPTH = 8
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def load_bounded_json(body: bytes, *, max_bytes: int = WEBHOOK_MAX_BYTES) -> object:
    """Parse a JSON body of at most ``max_bytes`` nested at most :data:`MAX_JSON_DEPTH`
    deep. The depth is counted on the raw bytes before parsing, so a deeply nested body
    never reaches the parser's recursion.

    :raises ValueError: the body is too big, too deep or not JSON.
    """
    if len(body) > max_bytes:
        raise ValueError(f"the body is over {max_bytes} bytes")
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b'""', body)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            raise ValueError(f"the JSON is nested more than {MAX_JSON_DEPTH} deep")
    try:
        return json.loads(body)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise ValueError("the JSON is nested too deep") from None
