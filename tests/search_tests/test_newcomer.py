"""A newcomer's first hour, end to end: their own photos under a relative path, --quiet and
run.log, a rerun from another folder that answers at once, JSON for scripts, and what the
dashboard knows of the study."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd
import pytest
from typer.testing import CliRunner

from search.cli import app
from tests.search_tests.helpers import benchmark_module, tiny_study

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def own_photos(ray_session, tmp_path_factory):
    """A study of a folder of class folders given relative to where it runs, run --quiet:
    (run directory, the CLI's result, the folder it ran in)."""
    import yaml

    home = tmp_path_factory.mktemp("home")
    benchmark_module("shapes").make(home / "data" / "photos", per_class=10)
    raw = tiny_study(
        name="photos",
        data={"source": "imagefolder", "root": "data/photos", "image_size": 16},
        search={"trials": 3, "concurrency": 2, "pruner": "none"},
    )
    (home / "study.yaml").write_text(yaml.safe_dump(raw))
    here = Path.cwd()
    try:
        import os

        os.chdir(home)
        result = runner.invoke(app, ["run", "study.yaml", "--run-dir", "runs/photos", "--quiet"])
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return home / "runs" / "photos", result, home


def test_quiet_prints_the_result_alone_and_run_log_keeps_every_line(own_photos) -> None:
    run_dir, result, _ = own_photos
    printed = result.stdout.splitlines()
    assert [line.split(":")[0] for line in printed] == ["trials", "best", "test", "run directory"]
    log = (run_dir / "run.log").read_text().splitlines()
    assert log[0].startswith("--- hpsearch run, ")
    assert any(line.startswith("data: ") for line in log)
    assert sum(line.startswith("trial ") and " COMPLETE " in line for line in log) >= 1
    assert log[-4:] == printed  # the closing lines too


def test_the_saved_study_resumes_from_any_folder_at_once(own_photos, tmp_path, monkeypatch):
    run_dir, _, home = own_photos
    saved = json.loads(
        json.dumps(__import__("yaml").safe_load((run_dir / "study.yaml").read_text()))
    )
    assert saved["data"]["root"] == str(home / "data" / "photos")  # kept absolute
    monkeypatch.chdir(tmp_path)  # another folder: the relative path would point nowhere
    again = runner.invoke(app, ["run", str(run_dir / "study.yaml"), "--run-dir", str(run_dir)])
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith("nothing new to run: study photos holds what search.trials")


def test_trials_and_status_as_json(own_photos) -> None:
    run_dir, _, _ = own_photos
    shown = runner.invoke(app, ["trials", str(run_dir), "--json"])
    rows = json.loads(shown.stdout)
    frame = pd.read_csv(run_dir / "trials.csv")
    assert [r["number"] for r in rows] == frame["number"].tolist()
    assert [r["state"] for r in rows] == frame["state"].tolist()
    study = optuna.load_study(study_name="photos", storage=f"sqlite:///{run_dir / 'optuna.db'}")
    for row, trial in zip(rows, study.trials, strict=True):  # every digit, as stored
        assert {k: row[k] for k in trial.params} == trial.params and row["val_loss"] == trial.value
        assert row["fail_reason"] is None and row["node"] and None not in trial.params.values()
    table = runner.invoke(app, ["trials", str(run_dir)]).stdout
    assert "None" not in table and "<NA>" not in table and "nan" not in table
    status = json.loads(runner.invoke(app, ["status", str(run_dir), "--json"]).stdout)
    assert status["study"] == "photos" and status["driven_by"] is None
    assert status["trials_finished"] == 3 and status["running"] == []
    assert status["result"]["best_trial"] == status["best"]["trial"]


def test_trials_csv_names_each_trials_ray_folder(own_photos) -> None:
    run_dir, _, _ = own_photos
    frame = pd.read_csv(run_dir / "trials.csv")
    folders = [p.name for p in (run_dir / "ray").iterdir() if p.is_dir()]
    for ray_id in frame["ray_trial_id"]:
        assert any(str(ray_id) in name for name in folders), (ray_id, folders)


def test_the_dashboard_knows_the_metric_the_data_and_the_result(own_photos) -> None:
    import urllib.request

    from search.report.dashboard import beside
    from search.report.study_note import NOTE_TITLE

    run_dir, _, home = own_photos
    url = f"sqlite:///{run_dir / 'optuna.db'}"
    study = optuna.load_study(study_name="photos", storage=url)
    assert study.metric_names == ["val_loss"]
    attrs = study.user_attrs
    assert attrs["data"].startswith(f"imagefolder {home / 'data' / 'photos'}, 16 px: ")
    assert attrs["backbone"] == "efficientnet_lite0, weights: none"
    assert "lr: float 0.0001 to 0.01, log" in attrs["space"]
    assert attrs["test_result"].startswith("trial ")
    study_id = optuna.storages.RDBStorage(url).get_study_id_from_name("photos")
    with beside(url, "127.0.0.1", 0) as address:
        api = address.removesuffix("dashboard/") + f"api/studies/{study_id}"
        shown = json.load(urllib.request.urlopen(api, timeout=10))
    assert shown["objective_names"] == ["val_loss"]
    assert NOTE_TITLE in shown["note"]["body"] and "**Result**: trial " in shown["note"]["body"]
