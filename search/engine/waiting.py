"""Waiting for Ray to place something (a placement group, an actor), out loud and for a
stated time: never a silent wait for resources that may not come."""

from __future__ import annotations

import time
from collections.abc import Callable

from search.echo import Echo
from search.errors import ClusterError


def wait_until_placed(
    ready: Callable[[float], bool],
    *,
    who: str,
    waiting_for: str,
    gave_up: str,
    echo: Echo,
    notice_s: float,
    give_up_s: float,
) -> None:
    """Return once `ready(timeout_s)` says yes; until then say `<who>: waiting for
    <waiting_for> (N s so far, gives up after M s)` every `notice_s`, and after `give_up_s`
    raise ClusterError(gave_up)."""
    started = time.monotonic()
    while True:
        left = give_up_s - (time.monotonic() - started)
        if ready(max(0.0, min(notice_s, left))):
            return
        waited = time.monotonic() - started
        if waited >= give_up_s:
            raise ClusterError(gave_up)
        echo(
            f"{who}: waiting for {waiting_for} ({waited:.0f} s so far, gives up after "
            f"{give_up_s:.0f} s)"
        )
