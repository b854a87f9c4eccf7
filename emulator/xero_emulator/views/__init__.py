"""The HTTP side of the emulator: one module of view functions per area, each taking the
:class:`~xero_emulator.backend.Emulator` and a werkzeug request. :mod:`xero_emulator.urls`
maps every URL to them."""
