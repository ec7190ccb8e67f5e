"""SIGTERM handled as Ctrl-C."""

from __future__ import annotations

import os
import signal
import time

import pytest


def test_sigterm_becomes_an_interrupt() -> None:
    from search.engine.signals import sigterm_as_interrupt

    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
