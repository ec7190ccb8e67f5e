"""A study in MLflow, against a real `mlflow server` this module starts on a free port: the
parent run and its children, their states and curves, the refit and its registered model
(loaded as a pipeline would, answering as load_best does, and seen in MLflow's UI), a study
extended while the server stops, caught up afterwards by `hpsearch track`, no run twice."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest
import torch
import yaml
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.study.spec import parse_study_spec
from search.tracking import Tracker
from search.trials.attrs import FAIL_REASON, HISTORY, RACE_OF, RACE_RUN, WARM_FROM, WARM_TRIAL
from tests.search_tests.drivers import run, start
from tests.search_tests.helpers import tiny_study
from tests.servers import MlflowServer, listening, shell_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[MlflowServer]:
    started = MlflowServer(tmp_path_factory.mktemp("mlflow")).start()
    yield started
    started.stop()


def client(server: MlflowServer):
    return mlflow.MlflowClient(tracking_uri=server.uri, registry_uri=server.uri)


def children(server: MlflowServer, experiment: str) -> list:
    """Every run of the experiment that has a parent, oldest first."""
    found = client(server).get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client(server).search_runs([found.experiment_id], max_results=1000)
    return sorted(
        (r for r in runs if "mlflow.parentRunId" in r.data.tags), key=lambda r: r.info.start_time
    )


def trial_runs(server: MlflowServer, experiment: str) -> dict[int, object]:
    """Trial number -> its child run; fails on a trial sent twice."""
    numbered = [r for r in children(server, experiment) if "hpsearch.trial" in r.data.tags]
    numbers = [int(r.data.tags["hpsearch.trial"]) for r in numbered]
    assert len(numbers) == len(set(numbers)), f"a trial sent twice: {sorted(numbers)}"
    return dict(zip(numbers, numbered, strict=True))


def _history(*losses: float) -> dict[str, list[float]]:
    epochs = list(range(1, len(losses) + 1))
    return {"epoch": epochs, "val_loss": list(losses), "train_loss": [x + 0.5 for x in losses]}


def test_each_trial_is_one_child_run_told_truly_and_a_resume_adds_only_what_is_new(
    server, tmp_path
) -> None:
    spec = parse_study_spec(tiny_study(tracking={"mlflow": {"uri": server.uri}}, name="states"))
    study = optuna.create_study(study_name="states", storage=f"sqlite:///{tmp_path / 'o.db'}")
    lr = {"lr": FloatDistribution(1e-4, 1e-2, log=True)}

    def add(state, value=None, **attrs):
        study.add_trial(
            create_trial(
                state=state, value=value, params={"lr": 1e-3}, distributions=lr, user_attrs=attrs
            )
        )

    add(TrialState.COMPLETE, 0.4, **{HISTORY: _history(0.9, 0.6, 0.4)})
    add(TrialState.PRUNED, **{HISTORY: _history(2.5)})
    add(TrialState.FAIL, **{FAIL_REASON: "CUDA out of memory"})
    add(TrialState.COMPLETE, 0.5, **{RACE_OF: 0, RACE_RUN: 1, HISTORY: _history(0.7, 0.5)})
    add(TrialState.COMPLETE, 0.3, **{WARM_FROM: "runs/earlier", WARM_TRIAL: 7})
    running = study.ask(lr)  # not sent until it finishes
    said: list[str] = []
    storage = "postgresql://me:s3cret@db.example/studies"  # as the parent's tag shows it

    assert Tracker(spec, study, storage, said.append).sync()
    sent = trial_runs(server, "states")
    assert sorted(sent) == [0, 1, 2, 3, 4] and said == []
    assert {n: r.info.status for n, r in sent.items()} == {
        0: "FINISHED",
        1: "KILLED",
        2: "FAILED",
        3: "FINISHED",
        4: "FINISHED",
    }
    assert sent[1].data.tags["hpsearch.state"] == "PRUNED"
    assert sent[1].data.tags["hpsearch.pruned_at_epoch"] == "1"
    assert sent[2].data.tags["hpsearch.fail_reason"] == "CUDA out of memory"
    assert sent[3].info.run_name == "race: trial 0 run 1"
    assert sent[3].data.tags["hpsearch.race_of"] == "0"
    assert sent[4].data.tags["hpsearch.warm_start_from"] == "runs/earlier"
    curve = client(server).get_metric_history(sent[0].info.run_id, "val_loss")
    assert [(m.step, m.value) for m in curve] == [(1, 0.9), (2, 0.6), (3, 0.4)]
    assert sent[0].data.params == {"lr": "0.001"} and sent[0].data.metrics["value"] == 0.4
    parent = client(server).get_run(sent[0].data.tags["mlflow.parentRunId"])
    assert parent.info.run_name == "states"
    assert parent.data.tags["hpsearch.storage"] == "postgresql://me:***@db.example/studies"
    assert json.loads(parent.data.params["space.lr"])["low"] == 1e-4
    assert parent.data.params["search.trials"] == "3"

    study.tell(running, 0.2)  # the study goes on; a new driver (a resume) sends only that
    resumed = parse_study_spec(
        tiny_study(tracking={"mlflow": {"uri": server.uri}}, name="states", search={"trials": 6})
    )
    assert Tracker(resumed, study, storage, said.append).sync()
    again = trial_runs(server, "states")
    assert sorted(again) == [0, 1, 2, 3, 4, 5]
    assert {r.data.tags["mlflow.parentRunId"] for r in again.values()} == {parent.info.run_id}
    assert client(server).get_run(parent.info.run_id).data.tags["now.search.trials"] == "6"

    # Sent to a second server too (the same one by another name), the first keeps its runs:
    # the study remembers its parent run by server.
    elsewhere = server.uri.replace("127.0.0.1", "localhost")
    copy = {"mlflow": {"uri": elsewhere, "experiment": "states-copy"}}
    assert Tracker(
        parse_study_spec(tiny_study(tracking=copy, name="states")), study, storage, said.append
    ).sync()
    assert sorted(trial_runs(server, "states-copy")) == [0, 1, 2, 3, 4, 5]
    assert Tracker(resumed, study, storage, said.append).sync()
    assert {r.data.tags["mlflow.parentRunId"] for r in children(server, "states")} == {
        parent.info.run_id
    }


def test_a_tracked_run_registers_a_model_a_pipeline_loads_and_track_catches_up(
    server, tmp_path
) -> None:
    from search import load_best

    raw = tiny_study(
        tracking={
            "mlflow": {"uri": server.uri, "experiment": "e2e", "model": "tiny-model"},
        }
    )
    raw["tracking"]["mlflow"]["alias"] = "champion"
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(raw))
    done = run("run", str(study), "--run-dir", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    version_line = f"tracking: study tiny in MLflow at {server.uri}, model tiny-model version "
    assert version_line in done.stdout
    assert "View run" not in done.stdout + done.stderr  # MLflow's own prints kept out

    sent = trial_runs(server, "e2e")
    assert sorted(sent) == [0, 1, 2]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    tracked = summary["mlflow"]
    assert tracked["model"] == "tiny-model" and tracked["alias"] == "champion"
    refit = client(server).get_run(tracked["refit_run_id"])
    assert refit.data.tags["hpsearch.refit_of"] == str(summary["best_trial"])
    assert refit.data.tags["mlflow.parentRunId"] == tracked["run_id"]
    assert refit.data.metrics["test_accuracy"] == pytest.approx(summary["test"]["accuracy"])
    files = {a.path for a in client(server).list_artifacts(refit.info.run_id)}
    assert {"best_config.yaml", "summary.json", "report.html", "trials.csv"} <= files
    version = client(server).get_model_version_by_alias("tiny-model", "champion")
    assert int(version.version) == tracked["version"]
    assert version.tags["hpsearch.trial"] == str(summary["best_trial"])

    # The pipeline's side: the URI and the model's name, nothing of the run directory.
    mlflow.set_tracking_uri(server.uri)
    model = mlflow.pyfunc.load_model(f"models:/tiny-model/{tracked['version']}")
    config = mlflow.artifacts.load_dict("models:/tiny-model@champion/extra_files/best_config.json")
    assert config == json.loads((tmp_path / "run" / "best_config.json").read_text())
    best = load_best(tmp_path / "run")
    rng = np.random.default_rng(0)
    for height, width in ((16, 16), (23, 40)):  # raw images of any size
        images = rng.integers(0, 256, size=(6, 3, height, width), dtype=np.uint8)
        probabilities = model.predict(images)["probabilities"]
        answers = [best.classes[i] for i in probabilities.argmax(1)]
        assert answers == best.predict(torch.from_numpy(images))

    _seen_in_the_ui(server, tracked, tmp_path)

    # Extended by three trials, one at a time; the server stops once the first new one is
    # in: one warning line, the study goes on, and `hpsearch track` catches up afterwards.
    raw["search"].update(trials=6, concurrency=1)
    study.write_text(yaml.safe_dump(raw))
    process = start(study, tmp_path / "run", shell_env())
    deadline = time.monotonic() + 240
    while len(trial_runs(server, "e2e")) < 4:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.5)
    server.stop()
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    warnings = [line for line in out.splitlines() if line.startswith("tracking: ")]
    assert len(warnings) == 1, out
    assert warnings[0].startswith(f"tracking: MLflow at {server.uri} failed (")
    assert "`hpsearch track RUN_DIR` sends what is missing later" in warnings[0]
    assert "Traceback" not in err

    down = run("track", str(tmp_path / "run"), seconds=120)
    assert down.returncode == 2 and down.stderr.count("\n") == 1
    assert f"MLflow at {server.uri} failed" in down.stderr and "nothing is lost" in down.stderr

    server.start()  # the same port and store: what was sent before is there
    caught_up = run("track", str(tmp_path / "run"), seconds=180)
    assert caught_up.returncode == 0, caught_up.stderr
    assert "6 trial runs" in caught_up.stdout
    assert sorted(trial_runs(server, "e2e")) == [0, 1, 2, 3, 4, 5]  # none twice
    parents = {r.data.tags["mlflow.parentRunId"] for r in children(server, "e2e")}
    assert parents == {tracked["run_id"]}
    now = json.loads((tmp_path / "run" / "summary.json").read_text())["mlflow"]
    versions = client(server).search_model_versions("name = 'tiny-model'")
    assert max(int(v.version) for v in versions) == now["version"]
    again = run("track", str(tmp_path / "run"), seconds=120)
    assert "0 of them sent now" in again.stdout
    assert len(client(server).search_model_versions("name = 'tiny-model'")) == len(versions)


def _seen_in_the_ui(server: MlflowServer, tracked: dict, folder: Path) -> None:
    """MLflow's own UI in a real browser: the study one parent run with its trials and the
    refit beneath it, and the model version with its alias (screenshots beside the test's
    files, or in $HPSEARCH_SCREENSHOTS)."""
    import os

    from playwright.sync_api import sync_playwright

    from tests.search_tests.report.test_browser import ARGS, CHROMIUM

    shots = Path(os.environ.get("HPSEARCH_SCREENSHOTS") or folder)
    shots.mkdir(parents=True, exist_ok=True)
    experiment = tracked["experiment_id"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{server.uri}/#/experiments/{experiment}/runs")
        page.get_by_text("tiny", exact=True).first.wait_for(timeout=60_000)
        page.locator("[role=gridcell] button").first.click()  # the parent run's "+": children
        page.get_by_text("trial 0", exact=True).wait_for(timeout=30_000)
        page.get_by_text("refit of trial", exact=False).first.wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "mlflow-runs.png"))
        page.goto(f"{server.uri}/#/models/tiny-model/versions/{tracked['version']}")
        page.get_by_text("champion").first.wait_for(timeout=60_000)
        page.get_by_text("hpsearch.trial").wait_for(timeout=30_000)
        page.screenshot(path=str(shots / "mlflow-model.png"))
        browser.close()


@pytest.mark.parametrize("answer", [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", None])
def test_a_server_that_is_not_mlflow_or_never_answers_is_one_line(
    answer, tmp_path, monkeypatch
) -> None:
    """A web server that answers something else, or a port that accepts and stays silent:
    sync says so once and returns; nothing raises, within the connect deadline."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")  # HPSEARCH_CONNECT_SECONDS's, once
    said: list[str] = []
    study = optuna.create_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'o.db'}")
    with listening(answer) as port:
        uri = f"http://127.0.0.1:{port}"
        spec = parse_study_spec(tiny_study(tracking={"mlflow": uri}))
        tracker = Tracker(spec, study, "sqlite:///o.db", said.append)
        started = time.monotonic()
        assert not tracker.sync() and not tracker.sync()
        assert time.monotonic() - started < 10
    assert len(said) == 1 and said[0].startswith(f"tracking: MLflow at {uri} failed (")
