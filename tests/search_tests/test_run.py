"""A tiny study through Ray Tune, Optuna, the refit and the run directory. Ray starts once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pandas as pd
import pytest
import torch
import yaml
from optuna.trial import TrialState
from typer.testing import CliRunner

from search import load_best
from search.cli import app
from search.run import run_study
from search.study.spec import parse_study_spec
from search.trials.attrs import CHOSEN_EPOCHS, RAY_TRIAL_ID, TRAIN_SECONDS
from tests.search_tests.helpers import outcome_lines, tiny_study
from trainable import TrainConfig, evaluate, prepare

pytestmark = pytest.mark.slow


def load(run_dir: Path) -> optuna.Study:
    return optuna.load_study(study_name="tiny", storage=f"sqlite:///{run_dir / 'optuna.db'}")


def test_run_directory_holds_every_file(finished) -> None:
    result, _, _ = finished
    names = {
        "study.yaml",
        "optuna.db",
        "trials.csv",
        "best_config.yaml",
        "best_config.json",
        "model.pt",
        "model.onnx",
        "test_metrics.json",
        "history.csv",
        "summary.json",
        "report.html",
        "run.log",
        "ray",
    }
    assert names <= {p.name for p in result.run_dir.iterdir()}
    plots = {p.name for p in (result.run_dir / "plots").iterdir()}
    assert plots == {  # no importances: the tiny study has fewer than 5 complete trials
        f"{name}.png"
        for name in (
            "optimization_history",
            "parallel",
            "slices",
            "trial_curves",
            "epochs_reached",
            "fit_curves",
            "confusion_matrix",
        )  # no front: one backbone and no bound on its cost, nothing to trade
    }
    assert not list(result.run_dir.glob(".*.tmp"))


def test_storage_holds_every_trial_finished_and_tagged(finished) -> None:
    result, _, lines = finished
    study = load(result.run_dir)
    trials = study.get_trials()
    done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == 5 and not [t for t in trials if t.state == TrialState.RUNNING]
    assert len({t.user_attrs[RAY_TRIAL_ID] for t in trials}) == len(trials)
    for trial in done:
        assert len(trial.intermediate_values) >= 1
        assert set(trial.params) == {"lr", "batch_size"}  # epochs is the budget, not sampled
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        assert len(trial.intermediate_values) == 2  # space.epochs.high: every trial's budget
        assert trial.user_attrs[TRAIN_SECONDS] > 0
        chosen = trial.user_attrs[CHOSEN_EPOCHS]
        assert trial.value == trial.intermediate_values[chosen]
        assert trial.value == min(trial.intermediate_values.values())
    # One progress line a finished trial, with its state; before it, one an epoch it trained.
    trial_lines = outcome_lines(lines)
    assert len(trial_lines) == len(trials)
    assert all(("COMPLETE" in line) or ("PRUNED" in line) for line in trial_lines)
    epoch_lines = [line for line in lines if re.match(r"trial +\d+ epoch \d/2 ", line)]
    assert len(epoch_lines) == sum(len(t.intermediate_values) for t in trials)


def test_best_config_is_the_best_trial_ready_for_train(finished) -> None:
    result, spec, _ = finished
    best = load(result.run_dir).best_trial
    config = TrainConfig(**yaml.safe_load((result.run_dir / "best_config.yaml").read_text()))
    chosen = best.user_attrs[CHOSEN_EPOCHS]
    assert config.epochs == chosen and config.horizon == 2  # the trial's epoch, on its schedule
    assert config == spec.train_config({**best.params, "epochs": chosen}).model_copy(
        update={"schedule_epochs": None if chosen == 2 else 2}
    )
    saved = json.loads((result.run_dir / "best_config.json").read_text())
    assert TrainConfig(**saved) == config and result.summary.best_trial == best.number
    assert not {"threshold", "beta"} & set(saved)  # multi-label settings: not this study's


def test_test_metrics_come_from_the_refit_model(finished) -> None:
    result, spec, _ = finished
    metrics = json.loads((result.run_dir / "test_metrics.json").read_text())
    assert metrics["images"] == len(prepare(spec.data).test)
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["images"]
    history = pd.read_csv(result.run_dir / "history.csv")
    assert list(history["epoch"]) == list(range(1, result.summary.refit_epochs + 1))
    assert "val_loss" not in history  # refit on train + val: no validation split left


def test_load_best_gives_config_and_a_working_model(finished) -> None:
    result, spec, _ = finished
    best = load_best(result.run_dir)
    assert best.trial_number == result.summary.best_trial and best.metric == "val_loss"
    assert best.classes == ["class_0", "class_1", "class_2"] and best.image_size == 16
    model = best.load_model()
    splits = prepare(spec.data)
    again = evaluate(model, splits.test, splits.classes)
    assert again.accuracy == pytest.approx(best.test_metrics["accuracy"])
    assert model(torch.zeros(1, 3, 16, 16, dtype=torch.uint8)).shape == (1, 3)


def test_load_best_gives_probabilities_and_top_k_as_model_onnx_does(finished) -> None:
    """Raw images of other sizes: PyTorch (predict_proba) and ONNX Runtime (model.onnx, which
    resizes and crops them itself) give the same probabilities."""
    from trainable.export import OnnxModel

    result, _, _ = finished
    best = load_best(result.run_dir)
    images = torch.randint(0, 256, (5, 3, 30, 21), dtype=torch.uint8)
    probabilities = best.predict_proba(images)
    assert probabilities.shape == (5, 3) and torch.allclose(probabilities.sum(1), torch.ones(5))
    top = best.top_k(images, k=2)
    assert [row[0][0] for row in top] == best.predict(images)
    assert all(row[0][1] >= row[1][1] for row in top)
    onnx = OnnxModel(result.run_dir / "model.onnx").probabilities(images)
    assert abs(onnx - probabilities.numpy()).max() < 0.01
    checked = result.summary.onnx
    assert checked["top1_agreement"] == 1.0 and checked["images"] == best.test_metrics["images"]
    assert abs(checked["accuracy"] - best.test_metrics["accuracy"]) <= 0.001
    # One backbone and no bound on its cost: serving cost is no choice, so not measured.
    assert result.summary.serving == {}
    assert not any(line.startswith("serving cost") for line in finished[2])


def test_predict_gives_one_image_the_answer_it_gets_in_a_batch(finished) -> None:
    """A CHW tensor, an HWC numpy array (what PIL and OpenCV hold) and a batch agree."""
    result, _, _ = finished
    best = load_best(result.run_dir)
    model = best.load_model()
    images = torch.randint(0, 256, (6, 3, 30, 21), dtype=torch.uint8)
    together = best.predict_proba(images, model)
    for i, image in enumerate(images):
        alone = best.predict_proba(image, model)
        assert alone.shape == (1, 3) and torch.allclose(alone, together[i : i + 1], atol=1e-6)
        hwc = best.predict_proba(image.permute(1, 2, 0).numpy(), model)
        assert torch.allclose(hwc, alone, atol=1e-6)
    assert best.predict(list(images), model) == best.predict(images, model)


def test_a_trial_trained_again_with_its_parameters_repeats_its_curve(finished) -> None:
    """Every complete trial, retrained here with its parameters and seed on one thread (as its
    worker trained it), gives the curve it reported; trials after the first ran on a reused
    worker, so a generator or model that a worker carried over would show here."""
    from trainable import train

    result, spec, _ = finished
    splits = prepare(spec.data)
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.resources.cpus_per_trial)
    try:
        for trial in load(result.run_dir).trials:
            if trial.state != TrialState.COMPLETE:
                continue
            config = spec.train_config(spec.trial_epochs.trial_config(trial.params))
            history = train(config, splits)
            curve = [record["val_loss"] for record in history.records]
            reported = list(trial.intermediate_values.values())
            assert curve[: len(reported)] == pytest.approx(reported, rel=1e-6), trial.number
    finally:
        torch.set_num_threads(threads)


def test_trials_csv_has_a_row_a_trial(finished) -> None:
    result, _, _ = finished
    table = pd.read_csv(result.run_dir / "trials.csv")
    assert len(table) == len(load(result.run_dir).trials)
    columns = {"number", "state", "val_loss", "best_val_loss", "epochs_run", "epochs", "lr"}
    assert columns | {"fail_reason"} <= set(table)
    assert not {"params_m", "macs_g", "latency_ms", "throughput"} & set(table)  # not measured
    complete = table[table.state == "COMPLETE"]
    assert (complete.epochs_run == 2).all() and complete.epochs.between(1, 2).all()
    assert table[table.state == "PRUNED"].epochs.isna().all()
    assert table.node.notna().all() and table.node.nunique() == 1  # one local Ray node
    assert len(table.node[0]) == 56  # Ray's node ids are 28 bytes, in hex
    assert table.gpus.isna().all()  # no GPU was given to any trial


def test_cli_best_and_trials_read_the_run_directory(finished) -> None:
    result, _, _ = finished
    runner = CliRunner()
    shown = runner.invoke(app, ["best", str(result.run_dir)])
    assert shown.exit_code == 0 and yaml.safe_load(shown.output)["backbone"] == "efficientnet_lite0"
    shown = runner.invoke(app, ["best", str(result.run_dir), "--format", "json"])
    assert json.loads(shown.output) == json.loads((result.run_dir / "best_config.json").read_text())
    table = runner.invoke(app, ["trials", str(result.run_dir)])
    assert table.exit_code == 0 and "COMPLETE" in table.output and "val_loss" in table.output


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    """A run directory of our own: the shared one stays as the other tests expect it."""
    import shutil

    shutil.copytree(run_dir, tmp_path / "copy")
    return tmp_path / "copy"


def test_running_again_with_more_trials_extends_the_same_study(finished, tmp_path) -> None:
    result, spec, _ = finished
    run_dir = copy_of(result.run_dir, tmp_path)
    before = load(run_dir).trials
    more = parse_study_spec(
        {
            **spec.model_dump(mode="json"),
            "search": {**spec.search.model_dump(mode="json"), "trials": 6},
        }
    )
    lines: list[str] = []
    run_study(more, run_dir, echo=lines.append)
    after = load(run_dir).trials
    assert [t.params for t in after[: len(before)]] == [t.params for t in before]
    finished_states = (TrialState.COMPLETE, TrialState.PRUNED)
    assert sum(t.state in finished_states for t in after) == 6
    assert len(outcome_lines(lines)) == len(after) - len(before)


def test_running_a_finished_study_again_does_nothing_new(finished, tmp_path) -> None:
    result, spec, _ = finished
    run_dir = copy_of(result.run_dir, tmp_path)
    before = len(load(run_dir).trials)
    lines: list[str] = []
    again = run_study(spec, run_dir, echo=lines.append)
    assert not again.refitted and len(load(run_dir).trials) == before
    assert any(line.startswith("nothing new to run: study tiny holds what") for line in lines)
    assert not any(line.startswith("data: ") for line in lines)  # answered before any input


def test_diverging_trials_fail_with_reasons_until_the_budget_stops_the_search(
    ray_session, tmp_path
) -> None:
    from search.errors import SearchFailed

    raw = tiny_study(
        space={"lr": {"type": "float", "low": 50.0, "high": 100.0}},
        fixed={"optimizer": "sgd", "schedule": "constant", "epochs": 2, "batch_size": 4},
        search={"trials": 6, "concurrency": 1, "max_failed_trials": 2},
    )
    with pytest.raises(
        SearchFailed,
        match=r"stopped: 3 trials failed, more than "
        r"search.max_failed_trials=2",
    ):
        run_study(parse_study_spec(raw), tmp_path / "run", echo=lambda line: None)
    table = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert list(table["state"]) == ["FAIL"] * 3  # no retries for deterministic failures
    assert table["fail_reason"].str.contains("DivergedError: training diverged").all()
    assert not (tmp_path / "run" / "model.pt").exists()


def test_an_external_storage_url_holds_the_trials(ray_session, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared' / 'studies.db'}"
    (tmp_path / "shared").mkdir()  # a folder that does not exist is refused, not made
    raw = tiny_study(search={"trials": 2, "concurrency": 2}, storage=url)
    run_study(parse_study_spec(raw), tmp_path / "run", echo=lambda line: None)
    study = optuna.load_study(study_name="tiny", storage=url)
    assert len(study.trials) == 2
    assert not (tmp_path / "run" / "optuna.db").exists()
    assert (tmp_path / "run" / "best_config.yaml").is_file()


def test_a_refit_that_no_node_can_place_says_so_and_gives_up(finished, monkeypatch) -> None:
    """Every CPU held by something else: the refit waits out loud, then gives up in one line
    (it used to wait silently forever)."""
    import ray

    from search.engine import refit
    from search.errors import ClusterError
    from search.rundir.layout import RunDir
    from search.rundir.resume import load_run_study

    result, spec, _ = finished
    _, study = load_run_study(RunDir(result.run_dir))
    monkeypatch.setattr(refit, "NOTICE_S", 0.5)

    @ray.remote(num_cpus=2)
    class Hog:
        def ready(self) -> bool:
            return True

    hog = Hog.remote()
    ray.get(hog.ready.remote())
    lines: list[str] = []
    try:
        with pytest.raises(ClusterError, match=r"refit: no node had 2 CPUs free for 2 s; free"):
            config, best = refit.best_config(study, spec)
            refit.refit_best(config, best, spec, prepare(spec.data), lines.append, give_up_s=2)
    finally:
        ray.kill(hog)
    assert lines and all(
        line.startswith("refit: waiting for a node with 2 CPUs free (") for line in lines
    )
    assert "gives up after 2 s" in lines[0]
