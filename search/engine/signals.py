"""SIGTERM handled as Ctrl-C, so a job scheduler's stop keeps finished work like a Ctrl-C does."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM runs whatever SIGINT handler is in place (Ray's graceful stop
    during the search), else raises KeyboardInterrupt.

    Enter it after ray.init: Ray installs a native SIGTERM handler that aborts the process.
    """

    def interrupt(signum: int, frame: object) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
