"""Start Ray here or join a cluster, each failure one line; put the data in its object store."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

from search.errors import ClusterError
from search.study.spec import StudySpec

if TYPE_CHECKING:
    from ray import ObjectRef

    from trainable import Splits

from pathlib import Path

# Ray's documented settings for token authentication (ray start --head turns it on).
AUTH_MODE, TOKEN, TOKEN_PATH = "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def start_ray(spec: StudySpec, verbose: bool) -> None:
    _check_answers(spec.ray.address)  # even when Ray runs already: a bad address is a mistake
    if "ray" not in sys.modules:  # Ray reads the mode once, when it is first imported
        _decide_auth_mode(spec.ray.address)
    import ray

    if ray.is_initialized():
        return
    try:
        with nullcontext() if verbose else _native_stderr_aside():
            ray.init(
                address=spec.ray.address,
                include_dashboard=False,
                log_to_driver=verbose,
                logging_level=logging.INFO if verbose else logging.WARNING,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if spec.ray.address is None:
            raise ClusterError(
                f"Ray could not start on this machine ({reason}); "
                "run with --verbose to see Ray's log"
            ) from None
        raise _unreachable(spec.ray.address, reason) from None


def _decide_auth_mode(address: str | None) -> None:
    """Decide token authentication as Ray would, but out loud: with RAY_AUTH_MODE unset, Ray
    turns tokens on for a cluster it starts, or when a token is at hand to join one, and
    warns each time it does; set explicitly, the mode is taken without a warning."""
    if AUTH_MODE in os.environ:
        return
    token_at_hand = TOKEN in os.environ or TOKEN_PATH in os.environ or DEFAULT_TOKEN_FILE.is_file()
    if address is None or token_at_hand:
        os.environ[AUTH_MODE] = "token"  # Ray's workers inherit it, as they would Ray's own


def share(splits: Splits) -> ObjectRef:
    """The splits in Ray's object store, put once: every trial and the refit read that copy."""
    import ray

    return ray.put(splits)


def _unreachable(address: str, reason: str) -> ClusterError:
    return ClusterError(
        f"ray.address {address!r} does not answer ({reason}); start the cluster "
        "(ray start --head) or set ray.address: null to run here"
    )


def _check_answers(address: str | None, seconds: float = 5.0) -> None:
    """ray.init waits minutes on an address where nothing listens; one TCP connect tells now."""
    import socket

    if address is None or address == "auto":
        return  # Ray itself answers at once for these
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(
            f"ray.address must be auto, host:port or ray://host:port, got {address!r}"
        )
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise _unreachable(address, str(exc.strerror or exc)) from None


@contextmanager
def _native_stderr_aside() -> Iterator[None]:
    """Ray's C++ client writes straight to file descriptor 2, once a second while it retries
    an address where something else listens; our one-line error says it all."""
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
