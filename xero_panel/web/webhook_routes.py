"""Xero's webhooks: ``POST {prefix}/webhooks``.

Xero's rules for webhooks: verify ``x-xero-signature`` = base64(HMAC-SHA256(raw
body, webhook key)) over the raw bytes, in constant time; answer 401 to a bad signature and
200 with an empty body and no cookies to a good one, within 5 s; the *Intent to Receive*
check sends empty, signed and unsigned payloads. Deliveries are at least once, so each event
is stored once in :class:`~xero_panel.models.WebhookEvent` (unique on tenant, category,
resource and event date; the scheduler's ``store_webhook_events``) and only new ones are
handed to the background (``start_webhook``), which fetches exactly those records by ID.

The body is limited before it is read (the request guard: over
:data:`~xero_panel.web.request_guard.WEBHOOK_MAX_BYTES` is a 413) and parsed with a
depth bound (:func:`~xero_panel.web.request_guard.load_bounded_json`); a signed delivery
that is not such JSON is answered 200 and ignored.

A delivery is answered 200 only once its events are committed: if the database cannot
store them the answer is 503, and Xero delivers them again. Each stored event carries when
to try it again if it is not processed by then, so an event whose hand-off to the
background fails (Redis gone) or whose fetch fails is retried with backoff
(:mod:`xero_panel.sync.webhook_retries`), not lost.

The route answers 404 when ``XERO_PANEL_WEBHOOK_KEY`` is not set. :func:`register` adds it
to the blueprint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from flask import Blueprint, Flask, Response, abort, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from ..state import get_state
from .request_guard import load_bounded_json

__all__ = ["exempt_from_csrf", "register", "signature_of", "webhook"]

logger = logging.getLogger("xero_panel.webhooks")


def signature_of(body: bytes, key: str) -> str:
    """Xero's ``x-xero-signature`` for a raw body."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _empty(status: int) -> Response:
    response = Response(b"", status=status)
    response.headers.pop("Content-Type", None)
    return response


def register(bp: Blueprint) -> None:
    """Add ``POST /webhooks`` to the plugin's blueprint."""
    bp.add_url_rule("/webhooks", view_func=webhook, methods=["POST"])


def webhook() -> Response:
    """Receive a Xero webhook delivery."""
    state = get_state()
    key = state.settings.webhook_key
    if key is None:
        abort(404)
    body = request.get_data(cache=False)
    given = request.headers.get("x-xero-signature", "")
    if not hmac.compare_digest(signature_of(body, key).encode(), given.encode()):
        return _empty(401)
    try:
        payload = load_bounded_json(body)
    except ValueError as exc:
        logger.warning("A correctly signed webhook delivery was refused (%s); ignored", exc)
        return _empty(200)
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or not events:
        return _empty(200)  # Intent to Receive
    events = [e for e in events if isinstance(e, dict)]
    scheduler = state.scheduler
    try:
        with state.session_factory() as session:
            stored = scheduler.store_webhook_events(session, events)
    except SQLAlchemyError:
        # Not stored: Xero delivers again what is not answered 2xx.
        logger.exception("Could not store a webhook delivery; answering 503 so Xero retries")
        return _empty(503)
    if stored.dropped:
        logger.warning(
            "Dropped %s webhook events of organisations no CRM account uses", stored.dropped
        )
    try:
        if stored.fresh:
            scheduler.start_webhook(stored.fresh)
        scheduler.sweep_webhooks()  # earlier events whose retry is due
    except Exception:
        # Stored: the retry sweep hands these to the background once they are due.
        logger.exception("Could not queue the fetch of %s webhook events", len(stored.fresh))
    return _empty(200)


def exempt_from_csrf(app: Flask) -> None:
    """Exempt the webhook from Flask-WTF's ``CSRFProtect`` (Xero sends no CSRF token).

    Done at once if the host already set up ``CSRFProtect``, and also from a
    ``before_request`` hook registered now, which runs before a ``CSRFProtect`` set up
    later, so the order of the host's ``init_app`` calls does not matter.

    :meta private:
    """

    def exempt() -> None:
        csrf = current_app.extensions.get("csrf")
        if csrf is not None and hasattr(csrf, "exempt"):
            csrf.exempt(webhook)

    csrf = app.extensions.get("csrf")
    if csrf is not None and hasattr(csrf, "exempt"):
        csrf.exempt(webhook)
    app.before_request(exempt)
