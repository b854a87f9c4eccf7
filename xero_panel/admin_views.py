"""The admin's routes: the Xero integration page, connect, save, test, refresh and remove."""

from __future__ import annotations

from flask import Response, make_response, render_template

from .htmx import add_vary
from .views import PanelError, blueprint, connection_of, current_viewer, require_login


@blueprint.get("/settings")
def settings_page() -> Response:
    """The admin's Xero integration page."""
    redirect = require_login()
    if redirect is not None:
        return redirect
    viewer = current_viewer()
    if not viewer.is_admin:
        raise PanelError(403, "Only an admin of your CRM account can manage the Xero integration.")
    connection = connection_of(viewer.crm_account)
    response = make_response(
        render_template("xero_panel/settings.html", connection=connection, viewer=viewer)
    )
    return add_vary(response)
