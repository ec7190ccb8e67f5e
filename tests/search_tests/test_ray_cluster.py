"""Studies on a real Ray cluster: a head and a second node (`ray start`), token authentication
on, as `ray start --head` sets it up; a node lost mid-search; GPUs placed by fraction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from optuna.trial import TrialState

from search.trials.attrs import FAIL_REASON, GPUS, INTERRUPTED, NODE, RETRY_OF
from tests.search_tests.drivers import FINISHED, process_study, run, start, trials, wait_for
from tests.servers import RayCluster

pytestmark = pytest.mark.slow


@contextmanager
def two_nodes(home: Path) -> Iterator[RayCluster]:
    """Head and worker of one CPU each: no single node has the two CPUs two trials use."""
    ray = RayCluster(home)
    try:
        ray.add_node(cpus=1, head=True)
        ray.add_node(cpus=1)
        yield ray
    finally:
        ray.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[RayCluster]:
    """One two-node cluster for the tests that leave it as they found it."""
    with two_nodes(tmp_path_factory.mktemp("cluster") / "head-home") as ray:
        yield ray


@pytest.fixture
def cluster_to_break(tmp_path: Path) -> Iterator[RayCluster]:
    """A two-node cluster of the test's own: it loses a node."""
    with two_nodes(tmp_path / "head-home") as ray:
        yield ray


def write(folder: Path, **overrides) -> Path:
    study = folder / "study.yaml"
    study.write_text(yaml.safe_dump(process_study(**overrides)))
    return study


def test_a_study_runs_on_both_nodes_and_refits(cluster, postgres_url, tmp_path) -> None:
    """`hpsearch run` on the head's machine, with no variable set: it finds the token."""
    study = write(tmp_path, storage=postgres_url, ray={"address": cluster.address})
    done = run("run", str(study), "--run-dir", str(tmp_path / "run"), env=cluster.env())
    assert done.returncode == 0, done.stderr
    nodes = set(cluster.node_ids())
    final = trials(postgres_url)
    assert sum(t.state in FINISHED for t in final) == 6
    assert {t.user_attrs[NODE] for t in final} == nodes  # both nodes ran trials
    table = (tmp_path / "run" / "trials.csv").read_text()
    assert all(node in table for node in nodes)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["refit_placement"][NODE] in nodes
    assert "refit: trial" in done.stdout and (tmp_path / "run" / "model.pt").is_file()


def test_a_machine_without_the_token_is_told_what_it_needs(cluster, tmp_path) -> None:
    study = write(tmp_path, ray={"address": cluster.address})
    elsewhere = cluster.env(HOME=str(tmp_path / "another-machine"))
    done = run("run", str(study), "--run-dir", str(tmp_path / "run"), env=elsewhere, seconds=180)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert f"ray.address '{cluster.address}' refuses this machine" in done.stderr
    assert "token authentication" in done.stderr and "~/.ray/auth_token" in done.stderr


def test_a_node_lost_mid_search_fails_its_trial_which_is_retried(
    cluster_to_break: RayCluster, tmp_path
) -> None:
    cluster = cluster_to_break
    study = write(tmp_path, ray={"address": cluster.address})
    run_dir = tmp_path / "run"
    process = start(study, run_dir, cluster.env())
    worker = cluster.nodes[1]
    worker_id = cluster.ids[worker.pid]

    def running_on_worker(found: list) -> list:
        return [
            t
            for t in found
            if t.state == TrialState.RUNNING
            and t.intermediate_values
            and t.user_attrs.get(NODE) == worker_id
        ]

    victim = running_on_worker(wait_for(lambda f: bool(running_on_worker(f)), run_dir, process))[0]
    cluster.kill(worker)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    final = trials(run_dir)
    lost = final[victim.number]
    assert lost.state == TrialState.FAIL
    assert lost.user_attrs[FAIL_REASON] and lost.user_attrs[FAIL_REASON] != INTERRUPTED
    retry = next(t for t in final if t.user_attrs.get(RETRY_OF) == victim.number)
    assert retry.params == lost.params and retry.state in FINISHED
    assert retry.user_attrs[NODE] != worker_id
    assert sum(t.state in FINISHED for t in final) == 6
    assert f"trial {victim.number:>3} FAIL" in stdout


@pytest.fixture(scope="module")
def gpu_cluster(tmp_path_factory) -> Iterator[RayCluster]:
    """One node that declares two GPUs it does not have: Ray places by what nodes declare.
    Shared by the module's GPU tests: each run leaves it as it found it."""
    ray = RayCluster(tmp_path_factory.mktemp("gpu-cluster") / "head-home")
    try:
        ray.add_node(cpus=4, gpus=2, head=True)
        yield ray
    finally:
        ray.stop()


def test_fractional_gpus_pack_two_trials_on_each_gpu(gpu_cluster, tmp_path) -> None:
    study = write(
        tmp_path,
        ray={"address": gpu_cluster.address},
        resources={"cpus_per_trial": 1, "gpus_per_trial": 0.5},
        search={"trials": 4, "concurrency": 4, "pruner": "none"},
    )
    done = run("run", str(study), "--run-dir", str(tmp_path / "run"), env=gpu_cluster.env())
    assert done.returncode == 0, done.stderr
    final = trials(tmp_path / "run")
    assert len(final) == 4
    starts = max(t.datetime_start for t in final)
    assert all(t.datetime_complete > starts for t in final)  # all four ran at once
    seen = sorted(t.user_attrs[GPUS] for t in final)
    assert seen == ["0", "0", "1", "1"]  # each trial sees exactly one device, two per GPU
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["refit_placement"][GPUS] in ("0", "1")
    assert summary["refit_placement"]["resources"] == "4 CPUs, 1 GPU"  # a whole GPU


def test_gpus_per_trial_that_fits_no_node_is_refused_before_any_trial(gpu_cluster, tmp_path):
    study = write(
        tmp_path,
        ray={"address": gpu_cluster.address},
        resources={"gpus_per_trial": 4},
    )
    done = run("run", str(study), "--run-dir", str(tmp_path / "run"), env=gpu_cluster.env())
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: resources.gpus_per_trial 4 fits no node of the cluster (4 CPUs, 2 GPUs); "
        "lower it, or add a node that has it"
    )
    assert not (tmp_path / "run").exists()


def test_gpus_per_trial_auto_times_trials_then_packs_them_on_every_gpu(gpu_cluster, tmp_path):
    """The real measuring path: copies of a trial timed at once in a placement group that holds
    one GPU, then the search packed as chosen. The node's 4 CPUs allow two trials per GPU."""
    overrides = process_study(
        ray={"address": gpu_cluster.address},
        resources={"cpus_per_trial": 1, "gpus_per_trial": "auto"},
        search={"trials": 4, "pruner": "none"},
        fixed={"epochs": 1, "batch_size": 8},
    )
    del overrides["search"]["concurrency"]  # left to auto: it fills the GPUs
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(overrides))
    done = run("run", str(study), "--run-dir", str(tmp_path / "run"), env=gpu_cluster.env())
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    timing = [line for line in lines if line.startswith("resources: gpus_per_trial auto: timing")]
    assert timing == [
        "resources: gpus_per_trial auto: timing one trial alone on one GPU",
        "resources: gpus_per_trial auto: timing 2 trials at once on one GPU",
    ]
    chosen = next(line for line in lines if line.startswith("resources: gpus_per_trial auto ->"))
    per_gpu = 2 if chosen.startswith("resources: gpus_per_trial auto -> 0.5 (2 trials") else 1
    if per_gpu == 2:
        assert chosen.endswith(
            "no more than 2: the CPUs beside each GPU (resources.cpus_per_trial)"
        )
    else:
        assert chosen.startswith("resources: gpus_per_trial auto -> 1 (1 trial a GPU)")
        assert chosen.endswith("more would only slow each trial down")
    # search.concurrency fills both GPUs: per_gpu trials on each of them.
    assert f"study {overrides['name']}: 4 trials, {2 * per_gpu} at a time" in done.stdout
    final = trials(tmp_path / "run")
    assert {t.user_attrs[GPUS] for t in final} == {"0", "1"}  # trials spread over both GPUs


def test_a_node_that_cannot_read_the_data_folder_is_named(cluster, tmp_path) -> None:
    """On a cluster the data folder must be at one path on every node; a node where it is not
    is named in the trial's reason (the folder is removed here, on both nodes' machine)."""
    import subprocess
    import sys

    script = f"""
import shutil
from pathlib import Path
import ray
from PIL import Image
from search.engine.cluster import data_unreadable_here
from trainable import ImageFolderData, prepare

root = Path({str(tmp_path / "photos")!r})
for name in ("cat", "dog"):
    (root / name).mkdir(parents=True)
    for i in range(6):
        Image.new("RGB", (8, 8)).save(root / name / f"{{i}}.png")
splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=8, in_memory_mib=0))
shutil.rmtree(root)
ray.init(address={cluster.address!r}, logging_level="ERROR")
print(ray.get(ray.remote(data_unreadable_here).remote(splits), timeout=120))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        env=cluster.env(RAY_AUTH_MODE="token"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "is not readable on Ray node " in done.stdout
    assert "put the data folder at the same path on every node" in done.stdout
