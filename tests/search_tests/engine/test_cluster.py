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

    cluster.decide_auth_mode(None)
    assert os.environ[cluster.AUTH_MODE] == "token"


def test_joining_a_cluster_uses_tokens_when_one_is_at_hand(clean_auth: Path, monkeypatch) -> None:
    import os

    cluster.decide_auth_mode("127.0.0.1:6379")
    assert cluster.AUTH_MODE not in os.environ  # nothing at hand: Ray's own default
    clean_auth.write_text("secret")
    cluster.decide_auth_mode("127.0.0.1:6379")
    assert os.environ[cluster.AUTH_MODE] == "token"


def test_an_explicit_mode_is_kept(clean_auth, monkeypatch) -> None:
    import os

    monkeypatch.setenv(cluster.AUTH_MODE, "disabled")
    cluster.decide_auth_mode(None)
    assert os.environ[cluster.AUTH_MODE] == "disabled"


@pytest.mark.parametrize("address", ["nonsense", "host:port", ":6379"])
def test_a_malformed_address_is_one_line(address: str) -> None:
    with pytest.raises(ClusterError, match=r"ray.address must be auto or host:port, got"):
        cluster.check_answers(address)


def test_an_address_where_nothing_listens_is_named() -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ClusterError, match=f"ray.address '127.0.0.1:{port}' does not answer"):
        cluster.check_answers(f"127.0.0.1:{port}", seconds=2)


def needs(cpus: float = 1, gpus: float = 0, concurrency: int = 2):
    from search.study.spec import parse_study_spec
    from tests.search_tests.helpers import tiny_study

    return parse_study_spec(
        tiny_study(
            resources={"cpus_per_trial": cpus, "gpus_per_trial": gpus},
            search={"concurrency": concurrency},
        )
    )


TWO_SMALL_NODES = [{"CPU": 1.0}, {"CPU": 1.0}]


def test_the_refit_asks_for_what_one_node_has() -> None:
    """Two 1-CPU nodes, two trials at a time: the refit takes 1 CPU, not the 2 no node has
    (it used to ask for 2 and wait forever)."""
    assert cluster.refit_resources(needs(concurrency=2), TWO_SMALL_NODES) == (1.0, 0)
    assert cluster.refit_resources(needs(concurrency=4), [{"CPU": 16.0}, {"CPU": 2.0}]) == (4, 0)


def test_the_refit_takes_a_whole_gpu_on_a_node_that_has_one() -> None:
    nodes = [{"CPU": 32.0}, {"CPU": 8.0, "GPU": 2.0}]
    assert cluster.refit_resources(needs(gpus=0.5, concurrency=16), nodes) == (8.0, 1)


def test_trials_that_fit_no_node_are_refused_before_they_start() -> None:
    cluster.check_fits(needs(gpus=0.5), [{"CPU": 2.0, "GPU": 1.0}])
    with pytest.raises(ClusterError, match=r"resources.gpus_per_trial 2 fits no node .*1 GPU\)"):
        cluster.check_fits(needs(gpus=2), [{"CPU": 2.0, "GPU": 1.0}])
    with pytest.raises(ClusterError, match=r"resources.cpus_per_trial 2 fits no node .*2 nodes"):
        cluster.check_fits(needs(cpus=2), TWO_SMALL_NODES)
    with pytest.raises(ClusterError, match=r"resources.gpus_per_trial 1 fits no node"):
        cluster.check_fits(needs(gpus=1), TWO_SMALL_NODES)


def test_a_data_folder_gone_on_one_machine_is_said_so(tmp_path) -> None:
    """On one machine the data folder cannot be 'at another path on another node': it moved
    or was deleted while the search ran."""
    import shutil

    from PIL import Image

    from trainable import ImageFolderData, prepare

    for name in ("cat", "dog"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (8, 8)).save(tmp_path / "photos" / name / f"{i}.png")
    data = ImageFolderData(
        source="imagefolder", root=tmp_path / "photos", image_size=8, in_memory_mib=0
    )
    splits = prepare(data)
    assert cluster.data_unreadable_here(splits) is None
    shutil.rmtree(tmp_path / "photos")
    reason = cluster.data_unreadable_here(splits)
    assert "is not readable any more on " in reason and "moved or deleted while" in reason
    assert "every node" not in reason


@pytest.mark.slow  # a fresh Python process importing the CLI's modules
def test_nothing_before_start_ray_imports_ray() -> None:
    """Ray reads RAY_AUTH_MODE once, when it is first imported: every module `hpsearch run`
    loads before start_ray decides the mode must leave Ray unimported (one that did made a
    token cluster refuse the run)."""
    import subprocess
    import sys

    modules = ["search.cli", "search.run", "search.check", "search.preflight", "search.refit_trial"]
    code = f"import sys; import {', '.join(modules)}; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
