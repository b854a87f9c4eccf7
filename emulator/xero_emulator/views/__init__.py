"""The HTTP side of the emulator: one module of view functions per area, each taking the
:class:`~xero_emulator.backend.XeroBackend` and a werkzeug request, and call the backend's
operations (never the models behind it). :mod:`xero_emulator.urls` maps every URL to them."""
