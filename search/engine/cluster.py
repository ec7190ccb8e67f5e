"""Start Ray here or join a cluster, each failure one line; put the data in its object store."""

from __future__ import annotations

import logging
import math
import os
import sys
from typing import TYPE_CHECKING

from search.errors import ClusterError, first_line
from search.study.spec import StudySpec

if TYPE_CHECKING:
    from ray import ObjectRef

    from trainable import Splits

import socket
import tempfile
from pathlib import Path

from search.deadlines import VARIABLE, connect_seconds
from search.trials.attrs import GPUS, NODE

# Ray's documented settings for token authentication (ray start --head turns it on).
AUTH_MODE, TOKEN, TOKEN_PATH = "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"
DEFAULT_TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def start_ray(spec: StudySpec, verbose: bool) -> None:
    check_answers(spec.ray.address)  # even when Ray runs already: a bad address is a mistake
    if "ray" not in sys.modules:  # Ray reads the mode once, when it is first imported
        decide_auth_mode(spec.ray.address)
    import ray

    if ray.is_initialized():
        return
    native = _NativeStderr()
    try:
        with native:
            ray.init(
                # "local", not None: None would join RAY_ADDRESS or the last `ray start` cluster
                # of this machine, and wait forever on one that has since died.
                address=spec.ray.address or "local",
                include_dashboard=False,
                log_to_driver=verbose,
                logging_level=logging.INFO if verbose else logging.WARNING,
            )
    except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
        reason = first_line(exc, type(exc).__name__)
        if spec.ray.address is None:
            raise ClusterError(
                f"Ray could not start on this machine ({reason}); "
                "run with --verbose to see Ray's log"
            ) from None
        if isinstance(exc, ray.exceptions.AuthenticationError) or "InvalidAuthToken" in native.text:
            raise _no_token(spec.ray.address) from None
        raise _unreachable(spec.ray.address, reason) from None
    finally:
        if verbose:
            sys.stderr.write(native.text)


def decide_auth_mode(address: str | None) -> None:
    """Decide token authentication as Ray would, but out loud: with RAY_AUTH_MODE unset, Ray
    turns tokens on for a cluster it starts, or when a token is at hand to join one, and
    warns each time it does; set explicitly, the mode is taken without a warning."""
    if AUTH_MODE in os.environ:
        return
    token_at_hand = TOKEN in os.environ or TOKEN_PATH in os.environ or DEFAULT_TOKEN_FILE.is_file()
    if address is None or token_at_hand:
        os.environ[AUTH_MODE] = "token"  # Ray's workers inherit it, as they would Ray's own


def node_resources() -> list[dict[str, float]]:
    """The total resources of each alive node of the cluster Ray is connected to."""
    import ray

    return [node["Resources"] for node in ray.nodes() if node["Alive"]]


def check_fits(spec: StudySpec, nodes: list[dict[str, float]]) -> None:
    """A trial asks for resources one node must have, or Ray would wait for it forever."""
    cpus, gpus = spec.resources.cpus_per_trial, spec.resources.gpus_per_trial
    if any(n.get("CPU", 0) >= cpus and n.get("GPU", 0) >= gpus for n in nodes):
        return
    field = "gpus_per_trial" if gpus > max(n.get("GPU", 0) for n in nodes) else "cpus_per_trial"
    value = gpus if field == "gpus_per_trial" else cpus
    raise ClusterError(
        f"resources.{field} {value:g} fits no node of the cluster ({_describe(nodes)}); "
        f"lower it, or add a node that has it"
    )


def refit_resources(spec: StudySpec, nodes: list[dict[str, float]]) -> tuple[float, int]:
    """(CPUs, GPUs) for the refit: a whole GPU where trials had a fraction, and the CPUs of
    all concurrent trials, as many of them as the largest node that can take it has."""
    per_trial = spec.resources.cpus_per_trial
    gpus = math.ceil(spec.resources.gpus_per_trial)
    fitting = [n for n in nodes if n.get("GPU", 0) >= gpus and n.get("CPU", 0) >= per_trial]
    if not fitting:
        raise ClusterError(
            f"the refit needs a node with {amount(gpus, 'GPU')} and {amount(per_trial, 'CPU')}, "
            "and the cluster "
            f"has none ({_describe(nodes)}); add one, or lower resources.gpus_per_trial"
        )
    largest = max(n["CPU"] for n in fitting)
    return max(per_trial, min(largest, per_trial * spec.search.concurrency)), gpus


def amount(count: float, what: str) -> str:
    """`1 GPU`, `0.5 GPUs`, `2 CPUs`."""
    return f"{count:g} {what}" + ("" if count == 1 else "s")


def _describe(nodes: list[dict[str, float]]) -> str:
    sizes = sorted(
        amount(n.get("CPU", 0), "CPU") + (f", {amount(n['GPU'], 'GPU')}" if n.get("GPU") else "")
        for n in nodes
    )
    return f"{len(nodes)} nodes: " + "; ".join(sizes) if len(nodes) > 1 else sizes[0]


def placement() -> dict[str, str]:
    """Where the calling Ray task or trial runs: its node, and the GPUs it was given."""
    import ray

    return {
        NODE: ray.get_runtime_context().get_node_id() if ray.is_initialized() else "",
        GPUS: os.environ.get("CUDA_VISIBLE_DEVICES", ""),
    }


def data_unreadable_here(splits: Splits) -> str | None:
    """One line when this node cannot read the image files the driver listed (on a cluster,
    every node that runs trials must see the data folder at the same path)."""

    import ray

    path = splits.unreadable_here()
    if path is None:
        return None
    alive = [n for n in ray.nodes() if n.get("Alive")] if ray.is_initialized() else []
    if len(alive) <= 1:  # one machine: the folder the driver listed has gone since
        return (
            f"{path} is not readable any more on {socket.gethostname()}: was the data folder "
            "moved or deleted while the search ran? put it back and run again (finished "
            "trials are kept)"
        )
    return (
        f"{path} is not readable on Ray node {placement()[NODE][:8]} ({socket.gethostname()}); "
        "put the data folder at the same path on every node (a shared filesystem), or make "
        "it small enough for data.in_memory_mib so it travels through Ray's object store"
    )


def share(splits: Splits) -> ObjectRef:
    """The splits in Ray's object store, put once: every trial and the refit read that copy."""
    import ray

    return ray.put(splits)


def _unreachable(address: str, reason: str) -> ClusterError:
    return ClusterError(
        f"ray.address {address!r} does not answer ({reason}); start the cluster "
        "(ray start --head) or set ray.address: null to run here"
    )


# An HTTP/2 client preface and an empty SETTINGS frame: Ray's GCS port speaks gRPC,
# whose server answers with a SETTINGS frame of its own at once.
_HTTP2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


def check_answers(address: str | None, seconds: float | None = None) -> None:
    """ray.init waits forever on an address that accepts a connection and never answers, and
    for minutes on one where nothing listens: one connect and one gRPC hello tell within
    HPSEARCH_CONNECT_SECONDS."""

    if address is None or address == "auto":
        return  # Ray itself answers at once for these
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"ray.address must be auto or host:port, got {address!r}")
    seconds = connect_seconds() if seconds is None else seconds
    try:
        with socket.create_connection((host, int(port)), timeout=seconds) as connection:
            connection.sendall(_HTTP2_HELLO)
            answer = connection.recv(16)
    except TimeoutError:
        raise ClusterError(
            f"ray.address {address!r} accepts connections but did not answer as Ray does "
            f"within {seconds:g} s ({VARIABLE}); give a Ray head's address (host:6379), or set "
            "ray.address: null to run here"
        ) from None
    except OSError as exc:
        raise _unreachable(address, str(exc.strerror or exc)) from None
    if len(answer) < 9 or answer[3] != 4:  # not an HTTP/2 SETTINGS frame: not Ray
        raise ClusterError(
            f"ray.address {address!r} answers, but not as Ray does (it said "
            f"{answer[:24]!r}); give a Ray head's address (host:6379)"
        )


class _NativeStderr:
    """Ray's C++ client writes straight to file descriptor 2, once a second while it retries
    an address; kept aside (in `text`), it is read for the cause our one line names."""

    def __init__(self) -> None:
        self.text = ""

    def __enter__(self) -> _NativeStderr:

        sys.stderr.flush()
        self._saved = os.dup(2)
        self._sink = tempfile.TemporaryFile()
        os.dup2(self._sink.fileno(), 2)
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._sink.seek(0)
        self.text = self._sink.read().decode(errors="replace")
        self._sink.close()


def _no_token(address: str) -> ClusterError:
    return ClusterError(
        f"ray.address {address!r} refuses this machine: the cluster uses token authentication "
        f"and no token is at hand; copy the head's ~/.ray/auth_token to {DEFAULT_TOKEN_FILE} "
        f"(or set {TOKEN} to its contents) and run again"
    )
