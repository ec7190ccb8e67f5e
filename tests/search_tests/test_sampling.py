"""The Searcher and the pruning scheduler, driven with fake results: no Ray is started."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState
from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from search.engine.curves import records_of
from search.engine.scheduler import OptunaPruningScheduler
from search.engine.searcher import LiveTrials, OptunaSearcher
from search.engine.trial_attrs import FAIL_REASON, RAY_TRIAL_ID

SPACE = {
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "batch_size": CategoricalDistribution([16, 32]),
}


@dataclass
class FakeTrial:
    """What the scheduler reads of a Ray trial."""

    trial_id: str
    error_file: str | None = None


def make(
    pruner: optuna.pruners.BasePruner | None = None,
    target: int = 10,
    budget: int = 3,
    storage: str | None = None,
):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage,
        pruner=pruner or optuna.pruners.NopPruner(),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    live = LiveTrials()
    finished: list[optuna.trial.FrozenTrial] = []
    searcher = OptunaSearcher(
        study,
        SPACE,
        live,
        metric="val_loss",
        target=target,
        failure_budget=budget,
        on_finish=lambda s, t: finished.append(t),
    )
    return study, searcher, OptunaPruningScheduler(live, "val_loss"), finished


def epochs(scheduler, ray_id: str, values: list[float], searcher=None) -> list[str]:
    """Feed results as Ray does: scheduler first, the searcher only if the trial goes on."""
    decisions = []
    for i, value in enumerate(values):
        result = {"val_loss": value, "train_loss": value / 2, "epoch": i + 1}
        decisions.append(scheduler.on_trial_result(None, FakeTrial(ray_id), result))
        if searcher is not None and decisions[-1] == TrialScheduler.CONTINUE:
            searcher.on_trial_result(ray_id, result)
    return decisions


def test_suggest_asks_optuna_and_tags_the_ray_trial() -> None:
    study, searcher, _, _ = make()
    config = searcher.suggest("ray-1")
    assert set(config) == {"lr", "batch_size"}
    assert 1e-4 <= config["lr"] <= 1e-1 and config["batch_size"] in (16, 32)
    (trial,) = study.get_trials(states=(TrialState.RUNNING,))
    assert trial.user_attrs[RAY_TRIAL_ID] == "ray-1" and trial.params == config


def test_complete_trial_gets_its_last_value_and_every_epoch() -> None:
    study, searcher, scheduler, finished = make()
    searcher.suggest("a")
    assert epochs(scheduler, "a", [0.9, 0.5, 0.4]) == [TrialScheduler.CONTINUE] * 3
    searcher.on_trial_complete("a", {"val_loss": 0.4, "epoch": 3})
    (trial,) = study.trials
    assert trial.state == TrialState.COMPLETE and trial.value == 0.4
    assert trial.intermediate_values == {1: 0.9, 2: 0.5, 3: 0.4}
    assert trial.user_attrs["ray_trial_id"] == "a"
    assert finished == [trial]


def test_pruned_trial_is_told_pruned_not_complete() -> None:
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    study, searcher, scheduler, _ = make(pruner)
    searcher.suggest("good")
    epochs(scheduler, "good", [0.3, 0.2])
    searcher.on_trial_complete("good", {"val_loss": 0.2, "epoch": 2})
    searcher.suggest("bad")
    assert epochs(scheduler, "bad", [0.9]) == [TrialScheduler.STOP]
    # Ray calls the searcher with the last result and no word of the stop.
    searcher.on_trial_complete("bad", {"val_loss": 0.9, "epoch": 1})
    bad = study.trials[1]
    assert bad.state == TrialState.PRUNED
    assert bad.intermediate_values == {1: 0.9}  # the pruning epoch is stored too
    assert bad.value == 0.9


def test_error_is_told_fail_with_the_reason(tmp_path: Path) -> None:
    study, searcher, scheduler, _ = make()
    searcher.suggest("x")
    error_file = tmp_path / "error.txt"
    error_file.write_text("Failure # 1\nTraceback ...\n  File x\nRuntimeError: worker exploded\n")
    scheduler.on_trial_error(None, FakeTrial("x", str(error_file)))
    searcher.on_trial_complete("x", None, error=True)
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert (
        trial.user_attrs[FAIL_REASON] == f"RuntimeError: worker exploded (traceback: {error_file})"
    )


def test_reported_failure_is_told_fail_with_the_reason() -> None:
    study, searcher, scheduler, _ = make()
    searcher.suggest("d")
    epochs(scheduler, "d", [2.0])
    searcher.on_trial_complete("d", {"failed": "DivergedError: training diverged: loss is nan"})
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL and "diverged" in trial.user_attrs[FAIL_REASON]
    assert trial.intermediate_values == {1: 2.0}  # epochs before the failure are kept


@pytest.mark.parametrize("value", [float("nan"), None])
def test_missing_or_nan_metric_is_a_failure(value) -> None:
    study, searcher, _, _ = make()
    searcher.suggest("n")
    searcher.on_trial_complete("n", {"val_loss": value} if value is not None else {})
    assert study.trials[0].state == TrialState.FAIL
    assert "without a finite val_loss" in study.trials[0].user_attrs[FAIL_REASON]


def test_non_finite_epoch_is_not_reported_to_the_pruner() -> None:
    study, searcher, scheduler, _ = make()
    searcher.suggest("n")
    assert epochs(scheduler, "n", [float("nan")]) == [TrialScheduler.CONTINUE]
    assert study.trials[0].intermediate_values == {}


def test_finished_once_the_study_holds_the_target_counting_running_trials() -> None:
    _, searcher, _, _ = make(target=2)
    assert isinstance(searcher.suggest("a"), dict)
    assert isinstance(searcher.suggest("b"), dict)
    assert searcher.suggest("c") == Searcher.FINISHED  # two running already
    searcher.on_trial_complete("a", None, error=True)  # a failure is replaced
    assert isinstance(searcher.suggest("d"), dict)


def test_finished_when_failures_exceed_the_budget() -> None:
    _, searcher, _, _ = make(budget=1)
    for name in "ab":
        searcher.suggest(name)
        searcher.on_trial_complete(name, None, error=True)
    assert searcher.over_failure_budget
    assert searcher.suggest("c") == Searcher.FINISHED


def test_save_and_restore_keep_the_live_trials(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    study, searcher, _, _ = make(storage=storage)
    searcher.suggest("a")
    searcher.live.pruned.add("a")
    searcher.save(str(tmp_path / "searcher.pkl"))
    fresh = OptunaSearcher(
        study, SPACE, LiveTrials(), metric="val_loss", target=1, failure_budget=0
    )
    fresh.restore(str(tmp_path / "searcher.pkl"))
    assert fresh.target == 10 and fresh.failure_budget == 3
    assert fresh.live.pruned == {"a"}
    fresh.on_trial_complete("a", {"val_loss": 0.5, "epoch": 1})
    assert study.trials[0].state == TrialState.PRUNED


def test_each_trial_keeps_its_per_epoch_curves() -> None:
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    study, searcher, scheduler, _ = make(pruner)
    searcher.suggest("good")
    epochs(scheduler, "good", [0.3, 0.2], searcher)
    searcher.on_trial_complete("good", {"val_loss": 0.2, "train_loss": 0.1, "epoch": 2})
    searcher.suggest("bad")
    epochs(scheduler, "bad", [0.9], searcher)  # stopped: the searcher never saw this result
    searcher.on_trial_complete("bad", {"val_loss": 0.9, "train_loss": 0.45, "epoch": 1})
    good, bad = study.trials
    assert good.user_attrs["history"] == {
        "epoch": [1, 2],
        "train_loss": [0.15, 0.1],
        "val_loss": [0.3, 0.2],
    }
    assert bad.user_attrs["history"] == {"epoch": [1], "train_loss": [0.45], "val_loss": [0.9]}
    assert records_of(bad) == [{"epoch": 1, "train_loss": 0.45, "val_loss": 0.9}]
