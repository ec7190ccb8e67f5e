"""A study whose storage is a real PostgreSQL server: killed and resumed, read by every tool,
and driven by one `hpsearch run` at a time, whichever machine (run directory) it runs from."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from search.rundir.layout import RunDir
from search.rundir.study_lease import GRACE_VARIABLE, LOST_EXIT_STATUS, current_holder
from search.trials.attrs import FAIL_REASON, INTERRUPTED
from tests.search_tests.drivers import (
    FINISHED,
    HPSEARCH,
    mid_search,
    process_study,
    run,
    start,
    trials,
    wait_for,
)
from tests.servers import free_port, shell_env

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Resumed:
    url: str  # with the password, for the tests' own readers
    written: str  # as the study file has it: ${HPSEARCH_PG} for the password
    run_dir: Path
    after_kill: list[optuna.trial.FrozenTrial]
    final: list[optuna.trial.FrozenTrial]
    stdout: str
    env: dict[str, str]  # a shell with HPSEARCH_PG exported


def write(folder: Path, url: str) -> Path:
    study = folder / "study.yaml"
    study.write_text(yaml.safe_dump(process_study(storage=url)))
    return study


@pytest.fixture(scope="module")
def resumed(postgres, tmp_path_factory) -> Resumed:
    """A search on PostgreSQL killed with -9 mid-search, then the same command run again; its
    password is in the environment only (`${HPSEARCH_PG}` in the study file)."""
    folder = tmp_path_factory.mktemp("postgres")
    bare = postgres.guarded_database("resumed")  # postgresql://guarded@...: no password
    role = f"{postgres.PASSWORD_ROLE}@"
    written = bare.replace(role, f"{postgres.PASSWORD_ROLE}:${{HPSEARCH_PG}}@")
    url = bare.replace(role, f"{postgres.PASSWORD_ROLE}:{postgres.PASSWORD}@")
    env = shell_env(HPSEARCH_PG=postgres.PASSWORD)
    run_dir = folder / "run"
    study = write(folder, written)
    process = start(study, run_dir, env)
    wait_for(mid_search, url, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    after_kill = trials(url)
    again = run("run", str(study), "--run-dir", str(run_dir), env=env)
    assert again.returncode == 0, again.stderr
    return Resumed(url, written, run_dir, after_kill, trials(url), again.stdout, env)


def test_a_killed_search_resumes_on_postgresql_keeping_every_finished_trial(resumed) -> None:
    kept = {t.number: t.value for t in resumed.after_kill if t.state in FINISHED}
    running = [t.number for t in resumed.after_kill if t.state == TrialState.RUNNING]
    assert len(kept) >= 2 and running  # SIGKILL left trials RUNNING in the database
    final = resumed.final
    assert not [t for t in final if t.state == TrialState.RUNNING]
    assert sum(t.state in FINISHED for t in final) == 6
    assert all(final[n].value == value for n, value in kept.items())
    assert all(final[n].user_attrs[FAIL_REASON] == INTERRUPTED for n in running)
    # The dead driver's lease was taken over at once: its process is gone from this machine.
    assert "taking over from pid" in resumed.stdout
    assert RunDir(resumed.run_dir).missing() == []
    assert not (resumed.run_dir / "optuna.db").exists()  # the trials live in PostgreSQL only
    assert current_holder(resumed.url, "tiny") is None  # released at the end


def test_hpsearch_trials_and_report_read_the_postgresql_study(resumed) -> None:
    listed = run("trials", str(resumed.run_dir), env=resumed.env)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines()[1:] if line.strip()]
    assert len(rows) == len(resumed.final)
    report = run("report", str(resumed.run_dir), env=resumed.env)
    assert report.returncode == 0, report.stderr
    assert "trial" in (resumed.run_dir / "report.html").read_text()


def test_the_dashboard_serves_the_postgresql_study(resumed) -> None:
    port = free_port()
    server = subprocess.Popen(
        [HPSEARCH, "dashboard", str(resumed.run_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=resumed.env,
    )
    try:
        study = None
        deadline = time.monotonic() + 60
        while study is None and time.monotonic() < deadline and server.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/studies/1?after=0"
                study = json.load(urllib.request.urlopen(url, timeout=5))
            except OSError:
                time.sleep(0.3)
        assert study is not None, server.stderr.read() if server.poll() is not None else ""
        assert len(study["trials"]) == len(resumed.final)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_optunas_own_cli_lists_the_trials(resumed) -> None:
    """The storage is a plain Optuna storage: our lease table beside it bothers no other tool."""
    optuna_cli = str(Path(sys.executable).parent / "optuna")
    listed = subprocess.run(
        [optuna_cli, "trials", "--storage", resumed.url, "--study-name", "tiny", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["number"] for row in rows] == [t.number for t in resumed.final]
    assert sum(row["state"] in ("COMPLETE", "PRUNED") for row in rows) == 6


def test_a_second_driver_of_the_study_is_refused_naming_the_holder(postgres_url, tmp_path):
    """Two machines, each its own run directory, one study in one database."""
    study = write(tmp_path, postgres_url)
    first = start(study, tmp_path / "machine-a")
    wait_for(lambda found: any(t.state == TrialState.RUNNING for t in found), postgres_url, first)
    second = run("run", str(study), "--run-dir", str(tmp_path / "machine-b"), seconds=120)
    assert second.returncode == 2
    line = second.stderr.strip()
    assert len(line.splitlines()) == 1
    assert f"driven by another hpsearch run: pid {first.pid} on {socket.gethostname()}" in line
    assert str(tmp_path / "machine-a") in line and "since" in line
    assert not (tmp_path / "machine-b").exists()  # a refused run leaves nothing behind
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    final = trials(postgres_url)
    assert not [t for t in final if t.state == TrialState.FAIL]  # nobody failed its trials
    assert sum(t.state in FINISHED for t in final) == 6


def test_a_silent_driver_is_taken_over_after_the_grace(postgres_url, tmp_path) -> None:
    """A driver frozen (SIGSTOP: its machine hangs) stops renewing its lease; after the grace
    another run takes the study over, keeps the finished trials and finishes the search. The
    frozen one, woken, finds it lost the study and ends without touching it."""
    grace = 8
    env = shell_env(**{GRACE_VARIABLE: str(grace)})
    study = write(tmp_path, postgres_url)
    first = start(study, tmp_path / "machine-a", env)
    try:
        before = wait_for(mid_search, postgres_url, first)
        first.send_signal(signal.SIGSTOP)
        holder = current_holder(postgres_url, "tiny")
        assert holder is not None and holder.pid == first.pid
        time.sleep(max(0.0, holder.heard + grace + 1 - time.time()))
        second = run("run", str(study), "--run-dir", str(tmp_path / "machine-b"), env=env)
        assert second.returncode == 0, second.stderr
        assert f"taking over from pid {first.pid}" in second.stdout
        final = trials(postgres_url)
        first.send_signal(signal.SIGCONT)
        _, stderr = first.communicate(timeout=60)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == LOST_EXIT_STATUS
    assert "another hpsearch run took it over" in stderr
    for trial in before:
        if trial.state in FINISHED:
            assert final[trial.number].value == trial.value
    assert not [t for t in final if t.state == TrialState.RUNNING]
    assert sum(t.state in FINISHED for t in final) == 6
    after = trials(postgres_url)
    assert [(t.state, t.value) for t in after] == [(t.state, t.value) for t in final]


def test_a_password_comes_from_the_environment_and_is_never_written(postgres, resumed, tmp_path):
    """`${VAR}` in storage: read when the storage is opened, by the run that was killed and
    the one that resumed it; the run directory keeps `${VAR}`, and no file holds the password."""
    study = write(tmp_path, resumed.written)
    unset = run("run", str(study), "--run-dir", str(tmp_path / "run"))
    assert unset.returncode == 2
    assert unset.stderr.strip() == (
        "error: storage: ${HPSEARCH_PG} is not set in the environment; export HPSEARCH_PG, or "
        "write its value in the study file"
    )
    wrong = run(
        "run", str(study), "--run-dir", str(tmp_path / "run"), env=shell_env(HPSEARCH_PG="nope")
    )
    assert wrong.returncode == 2 and "password authentication failed" in wrong.stderr

    assert (
        yaml.safe_load((resumed.run_dir / "study.yaml").read_text())["storage"] == resumed.written
    )
    for path in resumed.run_dir.rglob("*"):
        if path.is_file():
            assert postgres.PASSWORD.encode() not in path.read_bytes(), path
    assert postgres.PASSWORD not in resumed.stdout
