"""Locks, resuming checks, --restart, retries and trial failures: fast, no Ray started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from search.engine.trial_attrs import ATTEMPT, FAIL_REASON, INTERRUPTED, RETRY_OF
from search.engine.tuner import fail_interrupted
from search.errors import RunDirError
from search.rundir.lock import RunLock
from search.rundir.results import write_study
from search.rundir.resume import check_resumable, finished_results, move_aside
from search.study.spec import parse_study_spec
from tests.search_tests.conftest import tiny_study
from tests.search_tests.test_sampling import make


def test_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with RunLock(tmp_path / "run"), pytest.raises(RunDirError) as exc:
        RunLock(tmp_path / "run").__enter__()
    assert f"pid {os.getpid()}" in str(exc.value) and "in use by another hpsearch run" in str(
        exc.value
    )


def test_lock_is_released_on_exit_and_when_the_holder_is_killed(tmp_path: Path) -> None:
    with RunLock(tmp_path / "run"):
        (tmp_path / "run" / "work").write_text("x")
    with RunLock(tmp_path / "run"):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path\n"
                "from search.rundir.lock import RunLock\n"
                f"lock = RunLock(Path({str(tmp_path / 'run')!r})).__enter__()\n"
                "print('held', flush=True)\n"
                "time.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunDirError, match=f"pid {holder.pid}"):
        RunLock(tmp_path / "run").__enter__()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with RunLock(tmp_path / "run"):  # the kernel released it: no stale lock
        pass


def test_a_directory_the_lock_made_for_nothing_is_removed(tmp_path: Path) -> None:
    with pytest.raises(ValueError), RunLock(tmp_path / "new"):
        raise ValueError("bad input")
    assert not (tmp_path / "new").exists()


def test_resume_refuses_a_changed_space_but_allows_more_trials(tmp_path: Path) -> None:
    spec = parse_study_spec(tiny_study())
    write_study(tmp_path, spec)
    check_resumable(tmp_path, parse_study_spec(tiny_study(search={"trials": 50})))
    changed = tiny_study()
    changed["space"] = {**changed["space"], "lr": {**changed["space"]["lr"], "low": 1e-5}}
    with pytest.raises(RunDirError, match=r"space.lr.low=0.0001, now 1e-05.*--restart"):
        check_resumable(tmp_path, parse_study_spec(changed))
    dropped = tiny_study()
    del dropped["space"]["batch_size"]
    with pytest.raises(RunDirError, match=r"space.batch_size=\{.*\}, now absent"):
        check_resumable(tmp_path, parse_study_spec(dropped))


def test_restart_moves_the_old_run_aside_and_never_deletes(tmp_path: Path) -> None:
    run = tmp_path / "study"
    run.mkdir()
    (run / "trials.csv").write_text("precious")
    moved = move_aside(run, parse_study_spec(tiny_study()))
    assert not run.exists() and (moved / "trials.csv").read_text() == "precious"
    run.mkdir()
    again = move_aside(run, parse_study_spec(tiny_study()))
    assert again != moved and moved.exists()


def test_restart_with_an_external_storage_is_refused(tmp_path: Path) -> None:
    (tmp_path / "study").mkdir()
    spec = parse_study_spec(tiny_study(storage="postgresql://db/hp"))
    with pytest.raises(RunDirError, match="external storage"):
        move_aside(tmp_path / "study", spec)
    assert (tmp_path / "study").exists()


def test_finished_results_only_for_the_same_best_trial(tmp_path: Path) -> None:
    import json

    for name in ("model.pt", "best_config.yaml", "test_metrics.json"):
        (tmp_path / name).write_text("x")
    (tmp_path / "summary.json").write_text(json.dumps({"best_trial": 3}))
    assert finished_results(tmp_path, 3)["best_trial"] == 3
    assert finished_results(tmp_path, 4) is None


def test_running_trials_left_by_a_killed_search_are_told_fail() -> None:
    study = optuna.create_study()
    done = study.ask()
    study.tell(done, 1.0)
    left = study.ask()
    left.report(0.5, 1)
    assert fail_interrupted(study) == [left.number]
    trial = study.trials[left.number]
    assert trial.state == TrialState.FAIL and trial.user_attrs[FAIL_REASON] == INTERRUPTED
    assert trial.intermediate_values == {1: 0.5}
    assert study.trials[done.number].state == TrialState.COMPLETE


def test_a_trial_that_raised_is_retried_with_the_same_params() -> None:
    study, searcher, _, _ = make()
    searcher.retries = 1
    first = searcher.suggest("a")
    searcher.on_trial_complete("a", None, error=True)
    retry = searcher.suggest("b")
    assert retry == first
    trial = study.trials[-1]
    assert trial.user_attrs[ATTEMPT] == 2 and trial.user_attrs[RETRY_OF] == 0
    searcher.on_trial_complete("b", None, error=True)  # retries spent: no third attempt
    assert searcher.suggest("c") != first
    assert [t.state for t in study.trials[:2]] == [TrialState.FAIL, TrialState.FAIL]


def test_a_reported_failure_is_never_retried() -> None:
    study, searcher, _, _ = make()
    searcher.retries = 3
    first = searcher.suggest("a")
    searcher.on_trial_complete("a", {"failed": "DivergedError: loss is nan"})
    assert searcher.suggest("b") != first
    assert ATTEMPT not in study.trials[-1].user_attrs


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        ("diverged", "DivergedError: training diverged"),
        ("oom", "CUDA out of memory at batch_size=16"),
        ("config", "ValidationError"),
    ],
)
def test_objective_reports_deterministic_failures(
    monkeypatch, fake_reports, raised, expected
) -> None:
    from search.engine import objective as module
    from trainable import DivergedError, TrainConfig

    def failing(cfg, splits, report, num_workers):
        report(1, {"epoch": 1, "val_loss": 1.0})
        if raised == "diverged":
            raise DivergedError(2, 5, float("nan"))
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr("trainable.train", failing)
    config = {"lr": 0.1} if raised != "config" else {"lr": -1.0}
    module.objective(config, splits=None, base=TrainConfig(batch_size=16).model_dump(), cpus=1)
    assert expected in fake_reports[-1]["failed"]
    if raised != "config":
        assert fake_reports[0] == {"epoch": 1, "val_loss": 1.0}


def test_objective_lets_other_errors_raise_for_a_retry(monkeypatch, fake_reports) -> None:
    from search.engine import objective as module
    from trainable import TrainConfig

    def flaky(cfg, splits, report, num_workers):
        raise OSError("disk hiccup")

    monkeypatch.setattr("trainable.train", flaky)
    with pytest.raises(OSError, match="disk hiccup"):
        module.objective({}, splits=None, base=TrainConfig().model_dump(), cpus=1)


@pytest.fixture
def fake_reports(monkeypatch) -> list[dict]:
    reports: list[dict] = []
    monkeypatch.setattr("ray.tune.report", reports.append)
    return reports


def test_sigterm_becomes_an_interrupt() -> None:
    from search.engine.signals import sigterm_as_interrupt

    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


def test_many_processes_opening_a_new_sqlite_storage_at_once(tmp_path: Path) -> None:
    """The first `hpsearch trials` or dashboard may open the file while the run creates it."""
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    code = (
        "import sys; from search.rundir.storage import open_storage; open_storage(sys.argv[1]); "
        "print('ok')"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [out.strip() for out, _ in outputs] == ["ok"] * 6, [err for _, err in outputs]
