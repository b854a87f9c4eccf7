"""The checks settings' values share, each stated once: :func:`whole_number`.

Every message names the key, so a mistake is found at start-up, not on the first request.
"""

from __future__ import annotations

from typing import Any

__all__ = ["whole_number"]


def whole_number(key: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int:
    """``value`` as an ``int`` within ``minimum`` and ``maximum``, or a :class:`ValueError`
    that names ``key``; numbers given as strings (from the environment) are converted."""
    if isinstance(value, bool):
        raise ValueError(f"{key} must be a whole number, not {value!r}.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a whole number, not {value!r}.") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{key} must be at least {minimum}{upper}, not {number}.")
    return number
