"""How long hpsearch waits on something outside the process before it gives up with one line:
a storage server or a Ray address that accepts a connection and then says nothing.

`HPSEARCH_CONNECT_SECONDS` (default 10) sets it for every such connection.
"""

from __future__ import annotations

import os

from search.errors import HPSearchError

VARIABLE = "HPSEARCH_CONNECT_SECONDS"
DEFAULT = 10.0


def connect_seconds() -> float:
    """The deadline of one connection attempt, in seconds."""
    text = os.environ.get(VARIABLE, "")
    if not text:
        return DEFAULT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise HPSearchError(f"{VARIABLE} must be a number of seconds > 0, got {text!r}")
    return seconds


__all__ = ["VARIABLE", "connect_seconds"]
