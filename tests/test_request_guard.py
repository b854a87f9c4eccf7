"""The request guard at the plugin's edge: every text parameter, path id and htmx header is
checked before a view runs (400 with a plain message, never a 500), on SQLite and
PostgreSQL, and bodies are limited before they are read (413).

Each reproduction of the 500s an outside probe found is a test here: a NUL in ``q``,
``contact_q``, the pin and link path ids (psycopg's DataError on PostgreSQL), a link id of
99999999999999999999 (OverflowError on SQLite, out of range on PostgreSQL), and
``HX-Current-URL: http://[/`` (ValueError while building ``HX-Replace-Url``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask_wtf.csrf import generate_csrf
from sqlalchemy import func, select

from tests.conftest import HostApp
from tests.panel_app import HX, PANEL, Seeded, error_text, token_of
from xero_panel.models import Pin, RecordLink
from xero_panel.web.request_guard import FORM_MAX_BYTES, MAX_INT_ID


@pytest.fixture
def seeded_db(
    make_host: Callable[..., HostApp], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Seeded:
    """The panel's seeded host, on SQLite and on PostgreSQL."""
    host = make_host(database_url)
    host.app.add_template_global(generate_csrf, "csrf_token")
    return Seeded(host)


def _count(seeded: Seeded, model: Any) -> int:
    with seeded.host.app.app_context():
        return int(seeded.host.db.session.scalar(select(func.count(model.id))) or 0)


def _send(seeded: Seeded, method: str, path: str, user: str = "admin-acme", **kw: Any) -> Any:
    client = seeded.host.client(user)
    headers = {**HX, "X-CSRFToken": token_of(client), **kw.pop("headers", {})}
    return client.open(PANEL + path, method=method, headers=headers, **kw)


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=INV%000001", "from=%00", "view=%00", "page=%00", "q=%1b%5b31m", "x=%7f"],
)
def test_nul_and_control_characters_in_panel_parameters_are_400(
    seeded_db: Seeded, query: str
) -> None:
    response = seeded_db.get(f"/contact/1?{query}")
    assert response.status_code == 400
    assert "control character" in error_text(response)


def test_nul_in_contact_search_is_400(seeded_db: Seeded) -> None:
    response = seeded_db.get("/contact/1/links/search?contact_q=%00", user="admin-acme")
    assert response.status_code == 400
    assert "contact_q" in error_text(response)


def test_nul_in_pin_path_id_is_400(seeded_db: Seeded) -> None:
    for method in ("POST", "DELETE"):
        response = _send(seeded_db, method, f"/contact/1/pins/{seeded_db.org_id}/INV%00")
        assert response.status_code == 400, response.get_data(as_text=True)
        assert "invoice_id" in error_text(response)
    assert _count(seeded_db, Pin) == 0


def test_nul_in_link_path_id_and_form_is_400(seeded_db: Seeded) -> None:
    response = _send(seeded_db, "DELETE", f"/contact/1/links/{seeded_db.org_id}/c-1%00")
    assert response.status_code == 400 and "contact_id" in error_text(response)
    form = {"organisation_id": str(seeded_db.org_id), "contact_id": "c-1\x00"}
    response = _send(seeded_db, "POST", "/contact/1/links", data=form)
    assert response.status_code == 400 and "contact_id" in error_text(response)
    assert _count(seeded_db, RecordLink) == 0


@pytest.mark.parametrize("number", ["99999999999999999999", str(2**31), str(2**63), "0"])
def test_integer_ids_out_of_range_are_400(seeded_db: Seeded, number: str) -> None:
    for method, path in [
        ("DELETE", f"/contact/1/links/{number}/x"),
        ("POST", f"/contact/1/pins/{number}/x"),
        ("DELETE", f"/contact/1/pins/{number}/x"),
    ]:
        response = _send(seeded_db, method, path)
        assert response.status_code == 400, (path, response.get_data(as_text=True))
        expected = f"organisation_id must be a whole number from 1 to {MAX_INT_ID}."
        assert error_text(response) == expected


def test_largest_integer_id_is_a_plain_404(seeded_db: Seeded) -> None:
    response = _send(seeded_db, "POST", f"/contact/1/pins/{MAX_INT_ID}/x")
    assert response.status_code == 404


def test_bad_hx_current_url_is_400(seeded_db: Seeded) -> None:
    response = seeded_db.get("/contact/1?view=paid", **{"HX-Current-URL": "http://[/"})
    assert response.status_code == 400
    assert error_text(response) == "The header HX-Current-URL is not a URL."


def test_good_hx_current_url_still_replaces_the_url(seeded_db: Seeded) -> None:
    response = seeded_db.get("/contact/1?view=paid", **{"HX-Current-URL": "http://crm/c/1?a=1"})
    assert response.status_code == 200
    assert response.headers["HX-Replace-Url"] == "/c/1?a=1&xp_view=paid"


def test_too_long_record_id_and_values_are_400(seeded_db: Seeded) -> None:
    response = seeded_db.get("/contact/" + "1" * 129)
    assert response.status_code == 400 and "record_id" in error_text(response)
    response = seeded_db.get("/contact/1?x=" + "a" * 2049)
    assert response.status_code == 400 and "too long" in error_text(response)
    many = "&".join(f"k{i}=1" for i in range(65))
    response = seeded_db.get(f"/contact/1?{many}")
    assert response.status_code == 400 and "Too many" in error_text(response)
    repeated = "&".join("q=1" for _ in range(65))
    response = seeded_db.get(f"/contact/1?{repeated}")
    assert response.status_code == 400 and "Too many" in error_text(response)


def test_the_record_loader_never_sees_a_refused_value(seeded_db: Seeded) -> None:
    seeded_db.host.loader_calls.clear()
    assert seeded_db.get("/contact/1%00").status_code == 400
    assert seeded_db.host.loader_calls == []


def test_form_bigger_than_the_limit_is_413_before_it_is_read(seeded_db: Seeded) -> None:
    body = b"csrf_token=x&q=" + b"a" * FORM_MAX_BYTES
    response = _send(
        seeded_db,
        "POST",
        "/contact/1/refresh",
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert error_text(response) == "This request is too large for the Xero panel."


def test_chunked_form_over_the_limit_is_413(seeded_db: Seeded) -> None:
    client = seeded_db.host.client("admin-acme")
    headers = {**HX, "X-CSRFToken": token_of(client), "Transfer-Encoding": "chunked"}
    response = client.post(
        PANEL + "/contact/1/refresh",
        input_stream=io.BytesIO(b"q=" + b"a" * (FORM_MAX_BYTES + 10)),
        headers=headers,
        content_type="application/x-www-form-urlencoded",
        # as a server that decodes chunked bodies says (werkzeug's, gunicorn)
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_host_max_content_length_is_left_alone(seeded_db: Seeded) -> None:
    seeded_db.get("/contact/1")
    assert seeded_db.host.app.config["MAX_CONTENT_LENGTH"] is None


def test_guard_runs_before_the_hosts_own_hooks(seeded_db: Seeded) -> None:
    seen: list[str] = []
    app = seeded_db.host.app
    app.before_request_funcs.setdefault(None, []).insert(1, lambda: seen.append("host"))
    assert seeded_db.get("/contact/1?q=%00").status_code == 400
    assert seen == []
    assert seeded_db.get("/contact/1").status_code == 200
    assert seen == ["host"]


def test_host_routes_are_not_guarded(seeded_db: Seeded) -> None:
    response = seeded_db.host.client().get("/login?q=%00")
    assert response.status_code == 200


def test_malformed_chunked_body_is_400(seeded_db: Seeded) -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("Invalid chunk header")

    client = seeded_db.host.client("admin-acme")
    response = client.post(
        PANEL + "/contact/1/refresh",
        input_stream=Broken(),
        headers={**HX, "X-CSRFToken": token_of(client), "Transfer-Encoding": "chunked"},
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 400
    assert error_text(response) == "The request body could not be read."
