"""The plugin's web layer: the blueprint factory, the shared request helpers, the route
modules (each with a ``register(bp)`` function), htmx and CSRF helpers, and the Jinja
globals a host's templates call. Everything here needs Flask; the read side it calls,
:mod:`xero_panel.panel`, does not."""

from __future__ import annotations
