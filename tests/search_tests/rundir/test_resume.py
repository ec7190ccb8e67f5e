"""Whether a run directory can resume, --restart, and what a finished run holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.errors import RunDirError
from search.rundir.layout import RunDir
from search.rundir.resume import check_resumable, finished_results, move_aside
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import a_summary, tiny_study


def test_resume_refuses_a_changed_space_but_allows_more_trials(tmp_path: Path) -> None:
    spec = parse_study_spec(tiny_study())
    run = RunDir(tmp_path)
    run.write_spec(spec)
    check_resumable(run, parse_study_spec(tiny_study(search={"trials": 50})))
    changed = tiny_study()
    changed["space"] = {**changed["space"], "lr": {**changed["space"]["lr"], "low": 1e-5}}
    with pytest.raises(RunDirError, match=r"space.lr.low=0.0001, now 1e-05.*--restart"):
        check_resumable(run, parse_study_spec(changed))
    dropped = tiny_study()
    del dropped["space"]["batch_size"]
    with pytest.raises(RunDirError, match=r"space.batch_size=\{.*\}, now absent"):
        check_resumable(run, parse_study_spec(dropped))


def test_a_run_written_before_a_setting_existed_resumes_at_its_default(tmp_path: Path) -> None:
    import yaml

    spec = parse_study_spec(tiny_study())
    run = RunDir(tmp_path)
    run.write_spec(spec)
    older = yaml.safe_load(run.study_file.read_text())
    del older["data"]["flip_vertical"]  # as a study.yaml from before flip_vertical reads
    run.study_file.write_text(yaml.safe_dump(older))
    check_resumable(run, spec)
    with pytest.raises(RunDirError, match=r"data.flip_vertical=False, now True"):
        check_resumable(run, parse_study_spec(tiny_study(data={"flip_vertical": True})))


def test_restart_moves_the_old_run_aside_and_never_deletes(tmp_path: Path) -> None:
    run = tmp_path / "study"
    run.mkdir()
    (run / "trials.csv").write_text("precious")
    moved = move_aside(RunDir(run), parse_study_spec(tiny_study()))
    assert not run.exists() and (moved / "trials.csv").read_text() == "precious"
    run.mkdir()
    again = move_aside(RunDir(run), parse_study_spec(tiny_study()))
    assert again != moved and moved.exists()


def test_restart_with_an_external_storage_is_refused(tmp_path: Path) -> None:
    (tmp_path / "study").mkdir()
    spec = parse_study_spec(tiny_study(storage="postgresql://db/hp"))
    with pytest.raises(RunDirError, match="external storage"):
        move_aside(RunDir(tmp_path / "study"), spec)
    assert (tmp_path / "study").exists()


def _trial(number: int, lr: float = 0.01, value: float = 0.5):
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    trial = create_trial(
        value=value, params={"lr": lr}, distributions={"lr": FloatDistribution(1e-4, 1e-1)}
    )
    trial.number = number
    return trial


def test_finished_results_only_for_the_same_best_trial(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for name in ("model.pt", "best_config.yaml", "test_metrics.json"):
        (tmp_path / name).write_text("x")
    run.write_summary(a_summary(best_trial=3))
    assert finished_results(run, _trial(3)) == a_summary(best_trial=3)
    assert finished_results(run, _trial(4)) is None
    # A storage made anew: trial 3 is another configuration now, and the refit is not its.
    assert finished_results(run, _trial(3, lr=0.02)) is None
    assert finished_results(run, _trial(3, value=0.6)) is None
    run.model.unlink()  # a refit that died before its weights were written
    assert finished_results(run, _trial(3)) is None
