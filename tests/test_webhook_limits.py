"""The webhook's body limits: a body over Xero's size is refused with 413 before it is
read or its signature checked, and a correctly signed but deeply nested body (which raised
RecursionError in the JSON parser) is answered 200 and ignored, never a 500."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from tests._sync_support import SyncHost
from tests.webhook_support import KEY, URL, event, payload, post
from xero_panel.models import WebhookEvent
from xero_panel.web.request_guard import MAX_JSON_DEPTH, WEBHOOK_MAX_BYTES, load_bounded_json
from xero_panel.web.webhook_routes import signature_of


@pytest.fixture
def hooked(make_host: Callable[..., Any], database_url: str) -> Any:
    h = SyncHost(make_host, database_url, webhook_key=KEY)
    yield h
    h.close()


def post_chunked(h: SyncHost, body: bytes) -> Any:
    """POST the signed ``body`` as a chunked stream: no Content-Length to refuse it by."""
    return h.app.test_client().post(
        URL,
        input_stream=io.BytesIO(body),
        headers={"x-xero-signature": signature_of(body, KEY), "Transfer-Encoding": "chunked"},
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )


def _events(h: SyncHost) -> int:
    h.wait_idle()
    with h.state_session() as session:
        return int(session.scalar(select(func.count(WebhookEvent.id))) or 0)


def test_deeply_nested_signed_body_is_200_and_ignored(hooked: SyncHost) -> None:
    body = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = post(hooked, body)
    assert response.status_code == 200 and response.get_data() == b""
    assert _events(hooked) == 0


def test_nesting_just_over_the_bound_is_ignored_and_xeros_shape_accepted(
    hooked: SyncHost,
) -> None:
    too_deep = b'{"events": [{"data": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}]}"
    assert post(hooked, too_deep).status_code == 200
    assert _events(hooked) == 0
    body = payload(event(hooked, "1a2b3c4d-0000-0000-0000-000000000001"))
    assert post(hooked, body).status_code == 200
    assert _events(hooked) == 1


def test_body_over_the_limit_is_413_unread(hooked: SyncHost) -> None:
    read: list[int] = []
    body = b" " * (WEBHOOK_MAX_BYTES + 1)
    client = hooked.app.test_client()

    class Spy(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            read.append(size or -1)
            return super().read(size)

    response = client.post(
        URL,
        input_stream=Spy(body),
        headers={"x-xero-signature": signature_of(body, KEY), "Content-Length": str(len(body))},
        content_type="application/json",
    )
    assert response.status_code == 413 and read == []


def test_body_at_the_limit_is_read(hooked: SyncHost) -> None:
    body = payload(event(hooked, "1a2b3c4d-0000-0000-0000-000000000002"))
    body = body[:-1] + b" " * (WEBHOOK_MAX_BYTES - len(body)) + b"}"
    assert len(body) == WEBHOOK_MAX_BYTES
    assert post(hooked, body).status_code == 200
    assert _events(hooked) == 1


def test_chunked_body_over_the_limit_is_413(hooked: SyncHost) -> None:
    body = b" " * (WEBHOOK_MAX_BYTES + 1)
    response = post_chunked(hooked, body)
    assert response.status_code == 413


def test_chunked_signed_body_under_the_limit_is_processed(hooked: SyncHost) -> None:
    body = payload(event(hooked, "1a2b3c4d-0000-0000-0000-000000000003"))
    response = post_chunked(hooked, body)
    assert response.status_code == 200 and _events(hooked) == 1


def test_host_limit_untouched(hooked: SyncHost) -> None:
    post(hooked, payload())
    assert hooked.app.config["MAX_CONTENT_LENGTH"] is None


@pytest.mark.parametrize(
    "body",
    [b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), b"x" * 11],
)
def test_load_bounded_json_refuses(body: bytes) -> None:
    with pytest.raises(ValueError):
        load_bounded_json(body, max_bytes=10 if body.startswith(b"x") else WEBHOOK_MAX_BYTES)


def test_load_bounded_json_ignores_brackets_inside_strings() -> None:
    text = '{"a": "' + "[" * 50 + '\\"' + "{" * 50 + '"}'
    assert load_bounded_json(text.encode()) == {"a": "[" * 50 + '"' + "{" * 50}
