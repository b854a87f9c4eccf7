"""Flask-free access to Xero's API: the client, its rate budget and call counter, and the
types Xero's JSON is read into."""

from __future__ import annotations
