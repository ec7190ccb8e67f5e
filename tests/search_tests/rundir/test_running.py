"""What `best`, `load_best` and `report` say of a run directory that is running, not finished,
or no run directory at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from search.cli import app
from search.errors import RunDirError
from search.rundir.layout import RunDir
from search.rundir.lock import RunLock, held_by
from search.rundir.results import load_best
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study

runner = CliRunner()


@pytest.fixture
def started(tmp_path: Path) -> RunDir:
    """A run directory whose search has begun: its study.yaml, no results."""
    run = RunDir(tmp_path / "runs" / "tiny")
    run.path.mkdir(parents=True)
    run.write_spec(parse_study_spec(tiny_study()))
    return run


def test_a_running_run_is_said_to_run_not_to_need_a_resume(started: RunDir) -> None:
    with RunLock(started):
        assert "pid" in (held_by(started) or "")
        with pytest.raises(RunDirError, match=r"is still running .*hpsearch status"):
            load_best(started.path)
        shown = runner.invoke(app, ["best", str(started.path)])
        assert shown.exit_code != 0 and "still running" in shown.stderr
    assert held_by(started) is None
    with pytest.raises(RunDirError, match="nothing runs it now; run `hpsearch run`"):
        load_best(started.path)


def test_a_folder_that_is_no_run_directory_says_so(started: RunDir) -> None:
    plots = started.path / "plots"
    plots.mkdir()
    for command in ("best", "trials", "status"):
        shown = runner.invoke(app, [command, str(plots)])
        assert shown.exit_code != 0 and "is not a run directory" in shown.stderr, command
