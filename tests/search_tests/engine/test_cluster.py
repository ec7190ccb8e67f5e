"""Starting or joining Ray: the authentication mode is decided as Ray would, without its warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.engine import cluster
from search.errors import ClusterError


@pytest.fixture
def clean_auth(monkeypatch, tmp_path: Path) -> Path:
    for name in (cluster.AUTH_MODE, cluster.TOKEN, cluster.TOKEN_PATH):
        # setenv first, so that what the test sets is undone even where nothing was set before:
        # a RAY_AUTH_MODE left behind would reach this process's own ray.init in later tests.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    token = tmp_path / "auth_token"
    monkeypatch.setattr(cluster, "DEFAULT_TOKEN_FILE", token)
    return token


def test_a_local_ray_uses_tokens_as_ray_would(clean_auth) -> None:
    import os

    cluster._decide_auth_mode(None)
    assert os.environ[cluster.AUTH_MODE] == "token"


def test_joining_a_cluster_uses_tokens_when_one_is_at_hand(clean_auth: Path, monkeypatch) -> None:
    import os

    cluster._decide_auth_mode("127.0.0.1:6379")
    assert cluster.AUTH_MODE not in os.environ  # nothing at hand: Ray's own default
    clean_auth.write_text("secret")
    cluster._decide_auth_mode("127.0.0.1:6379")
    assert os.environ[cluster.AUTH_MODE] == "token"


def test_an_explicit_mode_is_kept(clean_auth, monkeypatch) -> None:
    import os

    monkeypatch.setenv(cluster.AUTH_MODE, "disabled")
    cluster._decide_auth_mode(None)
    assert os.environ[cluster.AUTH_MODE] == "disabled"


@pytest.mark.parametrize("address", ["nonsense", "host:port", "ray://:10001"])
def test_a_malformed_address_is_one_line(address: str) -> None:
    with pytest.raises(ClusterError, match=r"ray.address must be auto, host:port"):
        cluster._check_answers(address)


def test_an_address_where_nothing_listens_is_named() -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ClusterError, match=f"ray.address '127.0.0.1:{port}' does not answer"):
        cluster._check_answers(f"127.0.0.1:{port}", seconds=2)
