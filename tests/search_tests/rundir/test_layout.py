"""RunDir: one object names the run directory's files and reads and writes its summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.errors import RunDirError
from search.rundir.layout import RunDir
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import a_summary, tiny_study


def test_a_new_folder_is_missing_every_result_and_has_no_summary(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.missing() == list(RunDir.FINISHED)
    assert run.read_summary() is None and run.read_test_metrics() is None
    assert run.read_history() == []
    assert run.model == tmp_path / "model.pt" and run.plots == tmp_path / "plots"


def test_summary_round_trips_through_summary_json(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for name in RunDir.FINISHED:
        (tmp_path / name).write_text("x")
    run.write_summary(a_summary(best_trial=7))
    read = run.read_summary()
    assert read == a_summary(best_trial=7)
    assert read.test.accuracy == 0.9 and read.images["test"] == 2


def test_spec_is_written_and_read_back_resolved(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    spec = parse_study_spec(tiny_study())
    run.write_spec(spec)
    assert run.read_spec() == spec
    assert run.read_spec_dict()["name"] == "tiny"


def test_a_folder_without_study_yaml_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="is not a run directory"):
        RunDir(tmp_path).read_spec()


def test_storage_defaults_to_the_sqlite_file_inside(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.storage_url(parse_study_spec(tiny_study())).endswith(f"{tmp_path}/optuna.db")
    external = parse_study_spec(tiny_study(storage="postgresql://db/hp"))
    assert run.storage_url(external) == "postgresql://db/hp"
