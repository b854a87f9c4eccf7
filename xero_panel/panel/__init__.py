"""The panel's read side, without Flask: its parameters, the view rules, the queries on the
local cache, the rows, the formatting and the view model the panel template renders."""

from __future__ import annotations
