"""Real `hpsearch run` processes: killed mid-search, interrupted, run twice at once."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from search.trials.attrs import FAIL_REASON, INTERRUPTED, RAY_TRIAL_ID
from tests.search_tests.drivers import (
    FINISHED,
    HPSEARCH,
    mid_search,
    start,
    trials,
    wait_for,
)
from tests.search_tests.helpers import outcome_lines
from tests.servers import shell_env

pytestmark = pytest.mark.slow


def test_killed_search_resumes_without_losing_or_repeating_trials(study_file, tmp_path) -> None:
    run_dir = tmp_path / "run"
    process = start(study_file, run_dir)
    before = wait_for(mid_search, run_dir, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    after_kill = trials(run_dir)
    kept = {t.number: (t.params, t.value) for t in after_kill if t.state in FINISHED}
    running = [t.number for t in after_kill if t.state == TrialState.RUNNING]
    assert len(kept) >= len([t for t in before if t.state in FINISHED]) >= 2
    assert running  # SIGKILL leaves them RUNNING: nothing could clean up

    resumed = subprocess.run(
        [HPSEARCH, "run", str(study_file), "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=shell_env(),
    )
    assert resumed.returncode == 0, resumed.stderr
    final = trials(run_dir)
    assert not [t for t in final if t.state == TrialState.RUNNING]
    assert sum(t.state in FINISHED for t in final) == 6  # exactly the requested count
    for number, (params, value) in kept.items():  # finished work kept, not re-run
        assert final[number].params == params and final[number].value == value
    for number in running:
        assert final[number].state == TrialState.FAIL
        assert final[number].user_attrs[FAIL_REASON] == INTERRUPTED
    assert len({t.user_attrs[RAY_TRIAL_ID] for t in final}) == len(final)  # no duplicates
    assert [t.number for t in final] == list(range(len(final)))
    assert len(outcome_lines(resumed.stdout)) == len(final) - len(after_kill)  # only new ones ran
    for name in ("best_config.yaml", "model.pt", "test_metrics.json", "trials.csv"):
        assert (run_dir / name).is_file()


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(study_file, tmp_path) -> None:
    run_dir = tmp_path / "run"
    # ray.address is null: Ray starts here, whatever dead cluster RAY_ADDRESS names (Ray's own
    # default would join it and wait forever).
    process = start(study_file, run_dir, shell_env(RAY_ADDRESS="127.0.0.1:9"))
    wait_for(mid_search, run_dir, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "finished and are kept; run the same command again to resume" in stderr
    assert "Tuner.restore" not in stderr and "Traceback" not in stderr
    final = trials(run_dir)
    assert not [t for t in final if t.state == TrialState.RUNNING]
    assert any(t.user_attrs.get(FAIL_REASON) == INTERRUPTED for t in final)
    assert (run_dir / "trials.csv").is_file() and not (run_dir / "model.pt").exists()


def test_second_run_on_the_same_directory_is_refused(study_file, tmp_path) -> None:
    run_dir = tmp_path / "run"
    first = start(study_file, run_dir)
    wait_for(lambda found: bool(found), run_dir, first)
    second = subprocess.run(
        [HPSEARCH, "run", str(study_file), "--run-dir", str(run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=shell_env(),
    )
    assert second.returncode == 2
    assert f"is in use by another hpsearch run (pid {first.pid}" in second.stderr
    # SIGTERM (what a job scheduler sends) stops it like Ctrl-C.
    first.send_signal(signal.SIGTERM)
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 130 and "run the same command again to resume" in stderr
    assert not [t for t in trials(run_dir) if t.state == TrialState.RUNNING]


def descendants(pid: int) -> list[int]:
    """Every process under `pid` (Ray's workers are children of the raylet the driver starts)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def test_a_trial_whose_worker_dies_fails_with_a_reason_and_is_retried(study_file, tmp_path):
    run_dir = tmp_path / "run"
    process = start(study_file, run_dir)
    found = wait_for(
        lambda f: any(t.state == TrialState.RUNNING and t.intermediate_values for t in f),
        run_dir,
        process,
    )
    victim = next(t for t in found if t.state == TrialState.RUNNING and t.intermediate_values)
    workers = [
        p
        for p in descendants(process.pid)
        if b"ImplicitFunc" in Path(f"/proc/{p}/cmdline").read_bytes()
    ]
    assert workers
    for worker in workers:  # the running trials lose their worker, the OOM killer's way
        subprocess.run(["kill", "-9", str(worker)], check=False)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    final = trials(run_dir)
    failed = final[victim.number]
    assert failed.state == TrialState.FAIL and failed.user_attrs[FAIL_REASON] != INTERRUPTED
    assert failed.user_attrs[FAIL_REASON]  # the reason Ray gave, e.g. the actor died
    retry = next(t for t in final if t.user_attrs.get("retry_of") == victim.number)
    assert retry.params == failed.params and retry.user_attrs["attempt"] == 2
    assert sum(t.state in FINISHED for t in final) == 6
    assert f"trial {victim.number:>3} FAIL" in stdout


def test_run_with_dashboard_shows_trials_live(study_file, tmp_path) -> None:
    import json
    import socket
    import urllib.request

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [
            HPSEARCH,
            "run",
            str(study_file),
            "--run-dir",
            str(run_dir),
            "--dashboard",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=shell_env(),
    )
    seen: set[str] = set()
    curves_while_running = False
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/api/studies/1?after=0"
            study = json.load(urllib.request.urlopen(url, timeout=5))
        except OSError:  # not serving yet, or already stopped
            time.sleep(0.3)
            continue
        for trial in study["trials"]:
            seen.add(trial["state"])
            curves_while_running |= trial["state"] == "Running" and bool(
                trial["intermediate_values"]
            )
        time.sleep(0.3)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert f"dashboard: http://127.0.0.1:{port}/dashboard/" in stdout
    assert {"Running", "Complete"} <= seen and curves_while_running
