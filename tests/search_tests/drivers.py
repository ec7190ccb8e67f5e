"""Driving real `hpsearch run` processes from tests, and reading their study as they go."""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from search.rundir.storage import open_storage
from tests.servers import shell_env

HPSEARCH = str(Path(sys.executable).parent / "hpsearch")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def start(
    study: Path, run_dir: Path, env: dict[str, str] | None = None, *extra: str
) -> subprocess.Popen:
    return subprocess.Popen(
        [HPSEARCH, "run", str(study), "--run-dir", str(run_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or shell_env(),
    )


def run(*args: str, env: dict[str, str] | None = None, seconds: float = 300):
    return subprocess.run(
        [HPSEARCH, *args], capture_output=True, text=True, timeout=seconds, env=env or shell_env()
    )


def storage_of(where: Path | str) -> str:
    """A run directory's own SQLite file, or a storage URL as given."""
    return where if isinstance(where, str) else f"sqlite:///{where / 'optuna.db'}"


def trials(where: Path | str, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    """The study's trials now: `where` is a run directory (its SQLite file) or a storage URL."""
    if isinstance(where, Path) and not (where / "optuna.db").exists():
        return []
    try:
        storage = _storage(storage_of(where))
        return optuna.load_study(study_name=name, storage=storage).get_trials()
    except (KeyError, ValueError):  # the study is not created yet
        return []


@functools.lru_cache(maxsize=8)
def _storage(url: str) -> optuna.storages.BaseStorage:
    """One engine (and connection pool) per storage, however often a test polls it."""
    return open_storage(url)


def wait_for(
    condition: Callable[[list], bool],
    where: Path | str,
    process: subprocess.Popen,
    seconds: float = 180,
) -> list[optuna.trial.FrozenTrial]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = trials(where)
        if condition(found):
            return found
        if process.poll() is not None:
            pytest.fail(f"hpsearch ended early ({process.returncode}): {process.stderr.read()}")
        time.sleep(0.2)
    process.kill()
    pytest.fail("the search never reached the state the test waits for")


def mid_search(found: list) -> bool:
    """Two trials finished, and one running that has two of its three epochs still to go
    (so it is still running when the signal lands)."""
    return sum(t.state in FINISHED for t in found) >= 2 and any(
        t.state == TrialState.RUNNING and len(t.intermediate_values) == 1 for t in found
    )


def process_study(**overrides) -> dict:
    """Six trials of three epochs each, two at a time: a few seconds a trial."""
    from tests.search_tests.helpers import tiny_study

    return tiny_study(
        **{
            "data": {"samples": 120, "image_size": 24},
            "space": {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
            "fixed": {"epochs": 3, "batch_size": 8},
            "search": {"trials": 6, "concurrency": 2, "pruner": "none"},
            **overrides,
        }
    )
