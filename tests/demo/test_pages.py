"""The demo CRM's pages: sign-in, lists, detail pages, settings and the marketplace."""

from __future__ import annotations

import re

import pytest

from tests.demo.conftest import (
    CSRF_RE,
    USERS,
    client_as,
    csrf_token,
    demo_app,
    html_as,
    links,
    log_in,
    rows,
)

# -- login and logout ---------------------------------------------------------------------


def test_login_page_has_email_password_and_csrf_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="email"' in html
    assert 'name="password"' in html
    assert CSRF_RE.search(html)
    assert '<label for="email">' in html and '<label for="password">' in html


@pytest.mark.parametrize("email", list(USERS))
def test_login_valid_user_redirects_to_contacts(client, email):
    response = log_in(client, email)
    assert response.status_code == 302
    assert response.location.endswith("/contacts")


@pytest.mark.parametrize("email", list(USERS))
def test_login_top_bar_shows_account_email_and_role(client, email):
    log_in(client, email)
    html = client.get("/contacts").get_data(as_text=True)
    crm_account, role = USERS[email]
    assert f'data-testid="crm-account-name">{crm_account}<' in html
    assert f'data-testid="current-user">{email}<' in html
    assert f'data-testid="current-role">{role}<' in html


def test_login_wrong_password_shows_form_with_message(client):
    response = log_in(client, "admin@acme.test", password="nope")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'data-testid="login-error"' in html
    assert "Wrong email or password" in html
    assert 'name="password"' in html
    assert client.get("/contacts").status_code == 302


def test_login_unknown_email_rejected(client):
    response = log_in(client, "nobody@acme.test")
    assert response.status_code == 401
    assert client.get("/contacts").status_code == 302


def test_login_without_csrf_token_rejected(client):
    response = client.post("/login", data={"email": "admin@acme.test", "password": "demo"})
    assert response.status_code == 400
    assert 'name="email"' in response.get_data(as_text=True)
    assert client.get("/contacts").status_code == 302


def test_login_next_goes_back_to_requested_page(client):
    token = csrf_token(client)
    response = client.post(
        "/login?next=/deals/1",
        data={"email": "admin@acme.test", "password": "demo", "csrf_token": token},
    )
    assert response.location.endswith("/deals/1")


@pytest.mark.parametrize("target", ["https://evil.test/", "//evil.test/x", "/\\evil.test"])
def test_login_next_to_other_site_ignored(client, target):
    token = csrf_token(client)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "admin@acme.test", "password": "demo", "csrf_token": token},
    )
    assert response.location.endswith("/contacts")


def test_logout_signs_out(client):
    log_in(client, "admin@acme.test")
    token = csrf_token(client, "/contacts")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.location.endswith("/login")
    assert client.get("/contacts").status_code == 302


def test_session_cookie_is_same_site_lax_and_http_only(client):
    response = log_in(client, "admin@acme.test")
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie
    assert "HttpOnly" in cookie


def test_a_copy_of_the_session_cookie_stops_working_at_logout(app, client):
    log_in(client, "rep@acme.test")
    copied = client.get_cookie("xero_panel_demo_session").value
    thief = app.test_client()
    thief.set_cookie("xero_panel_demo_session", copied)
    assert thief.get("/contacts").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/contacts")})
    assert thief.get("/contacts").status_code == 302
    # Signing in again gives a new sign-in that works.
    log_in(client, "rep@acme.test")
    assert client.get("/contacts").status_code == 200


def test_repeated_failed_logins_have_to_wait(app, client, clock):
    for _ in range(3):
        assert log_in(client, "rep@acme.test", "wrong").status_code == 401
    # The wait starts: even the right password is not checked until it is over.
    refused = log_in(client, "rep@acme.test")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert "Too many failed sign-ins for this email. Try again in 2 s." in refused.get_data(
        as_text=True
    )
    # Other email addresses are not slowed.
    assert log_in(app.test_client(), "admin@acme.test").status_code == 302
    clock.advance(seconds=2)
    assert log_in(client, "rep@acme.test", "wrong").status_code == 401
    assert log_in(client, "rep@acme.test").headers["Retry-After"] == "4"  # it doubles
    clock.advance(seconds=4)
    assert log_in(client, "rep@acme.test").status_code == 302


def test_logout_get_not_allowed(client):
    log_in(client, "admin@acme.test")
    assert client.get("/logout").status_code == 405
    assert client.get("/contacts").status_code == 200


# -- redirects for logged-out users ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/contacts",
        "/accounts",
        "/deals",
        "/contacts/1",
        "/accounts/1",
        "/deals/1",
        "/settings",
        "/settings/marketplace",
    ],
)
def test_logged_out_redirected_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_index_logged_out_redirects_to_login(client):
    assert client.get("/").location.endswith("/login")


def test_index_logged_in_redirects_to_contacts(app):
    assert client_as(app, "rep@acme.test").get("/").location.endswith("/contacts")


# -- list pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "record_type", "model"),
    [
        ("/contacts", "contact", "Contact"),
        ("/accounts", "account", "Account"),
        ("/deals", "deal", "Deal"),
    ],
)
def test_list_rows_have_record_link_attributes(app, path, record_type, model):
    html = html_as(app, "rep@acme.test", path)
    expected = rows(app, getattr(demo_app, model), "acme")
    assert links(html, record_type) == [
        {
            "testid": "record-link",
            "record-type": record_type,
            "record-id": str(row["id"]),
            "name": row["name"],
            # Only contacts carry their email.
            **({"email": row["email"]} if record_type == "contact" else {}),
        }
        for row in expected
    ]


def test_lists_show_only_own_crm_account_records(app):
    html = html_as(app, "admin@globex.test", "/accounts")
    names = [link["name"] for link in links(html)]
    assert "Hooli Pty Ltd" in names
    assert "Bayside Club" not in names


# -- detail pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("record_type", ["contact", "account", "deal"])
def test_detail_page_embeds_panel(app, record_type):
    html = html_as(app, "rep@acme.test", f"/{record_type}s/1")
    assert re.search(
        rf'<section[^>]*data-xero-panel[^>]*data-record-type="{record_type}"[^>]*'
        r'data-record-id="1"',
        html,
    )


def test_detail_page_contact_shows_fields_and_links_account(app):
    html = html_as(app, "rep@acme.test", "/contacts/2")
    assert "jo.bayley@baysideclub.test" in html
    assert 'href="/accounts/1" data-testid="related-account">Bayside Club<' in html
    assert 'href="/deals/1" data-testid="related-deal"' in html


def test_detail_page_deal_links_account_and_contacts(app):
    html = html_as(app, "rep@acme.test", "/deals/1")
    assert 'href="/accounts/1" data-testid="related-account"' in html
    assert 'href="/contacts/1" data-testid="related-contact"' in html
    assert 'href="/contacts/2" data-testid="related-contact"' in html


@pytest.mark.parametrize("record_type", ["contact", "account", "deal"])
def test_detail_page_other_crm_account_record_404(app, record_type):
    globex_id = rows(app, getattr(demo_app, record_type.capitalize()), "globex")[0]["id"]
    acme = client_as(app, "admin@acme.test")
    response = acme.get(f"/{record_type}s/{globex_id}")
    assert response.status_code == 404
    assert 'data-testid="error-page"' in response.get_data(as_text=True)


@pytest.mark.parametrize("record_id", ["999", "0", "-1", "abc", "1.5", "99999999999999999999"])
def test_detail_page_unknown_id_404(app, record_id):
    assert client_as(app, "rep@acme.test").get(f"/contacts/{record_id}").status_code == 404


# -- settings and marketplace ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/settings", "/settings/marketplace"])
def test_settings_rep_gets_403_page(app, path):
    response = client_as(app, "rep@acme.test").get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Only admins can open this page" in html


def test_settings_nav_hidden_for_rep(app):
    html = html_as(app, "rep@acme.test", "/contacts")
    assert 'href="/settings"' not in html


def test_settings_admin_sees_marketplace_nav(app):
    html = html_as(app, "admin@acme.test", "/settings")
    assert "Apps &amp; Integrations" in html
    assert 'href="/settings/marketplace"' in html


def test_marketplace_admin_sees_search_box_and_apps(app):
    response = client_as(app, "admin@globex.test").get("/settings/marketplace")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<input[^>]*name="q"[^>]*type="search"', html)
    assert '<label for="marketplace-search">' in html
    for name in ("Mailbox sync", "Calendar", "E-signature"):
        assert f'data-app="{name}"' in html


def test_marketplace_search_filters_case_insensitively(app):
    html = html_as(app, "admin@acme.test", "/settings/marketplace?q=CALENDAR")
    assert 'data-app="Calendar"' in html
    assert 'data-app="Mailbox sync"' not in html


def test_marketplace_search_xero_shows_plugin_card(app):
    html = html_as(app, "admin@acme.test", "/settings/marketplace?q=xero")
    assert 'data-testid="xero-card"' in html
    assert 'data-testid="app-card"' not in html


def test_marketplace_search_no_match_shows_empty_state(app):
    html = html_as(app, "admin@acme.test", "/settings/marketplace?q=zzzz-nothing")
    assert 'data-testid="marketplace-empty"' in html
    assert 'data-testid="xero-card"' not in html


def test_static_stylesheet_served(client):
    response = client.get("/static/demo.css")
    assert response.status_code == 200
    assert "system-ui" in response.get_data(as_text=True)
    response.close()


def test_favicon_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    response.close()
