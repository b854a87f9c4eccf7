"""The CRM's error pages; the plugin's routes and htmx partials answer errors their own way."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

__all__ = ["register_error_handlers"]

_ERROR_TEXT = {
    400: ("Something was wrong with that request", "Please go back and try again."),
    403: (
        "Only admins can open this page",
        "Settings and marketplace apps are managed by your CRM account's admins."
        " Ask one of them if you need an app installed.",
    ),
    404: (
        "We could not find that page",
        "The record may have been removed, or it belongs to another CRM account.",
    ),
    405: ("That action is not allowed here", "Please use the links and buttons on the page."),
}


def register_error_handlers(app: Flask) -> None:
    """Show the CRM's error page for the errors in ``_ERROR_TEXT`` and for expired forms."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: HTTPException) -> ResponseReturnValue:
        if _is_plugin_or_htmx_request(app):
            return error
        if request.endpoint == "login":
            message = "Your form expired. Please sign in again."
            return render_template("demo/login.html", error=message, email=""), 400
        return _error_page(400, "Your form expired", "Please reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if code not in _ERROR_TEXT or _is_plugin_or_htmx_request(app):
            return error
        title, text = _ERROR_TEXT[code]
        return _error_page(code, title, text)


def _is_plugin_or_htmx_request(app: Flask) -> bool:
    """The plugin's routes and htmx partials answer errors their own way, not with our page."""
    prefix = str(app.config.get("XERO_PANEL_URL_PREFIX") or "").rstrip("/")
    in_plugin = bool(prefix) and (request.path == prefix or request.path.startswith(prefix + "/"))
    return in_plugin or request.headers.get("HX-Request") == "true"


def _error_page(code: int, title: str, text: str) -> ResponseReturnValue:
    return render_template("demo/error.html", code=code, title=title, text=text), code
