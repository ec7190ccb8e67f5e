"""The Searcher over Optuna's ask/tell, driven with fake results: no Ray is started."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState
from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from search.engine.searcher import OptunaSearcher, outcome
from search.study.epochs import TrialEpochs
from search.trials.attrs import (
    ATTEMPT,
    CHOSEN_EPOCHS,
    FAIL_REASON,
    GPUS,
    INFEASIBLE,
    NODE,
    RAY_TRIAL_ID,
    RETRY_OF,
)
from search.trials.curves import records_of
from search.trials.states import finished_count, state_counts
from tests.search_tests.helpers import FakeTrial, epochs, make


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


def test_each_trial_records_where_it_ran_once_even_when_stopped_at_its_first_result() -> None:
    study, searcher, _, _ = make()
    here = {NODE: "node-a", GPUS: "1"}
    searcher.suggest("long")
    searcher.on_trial_result("long", {"val_loss": 0.9, "epoch": 1, **here})
    searcher.on_trial_result("long", {"val_loss": 0.8, "epoch": 2, NODE: "ignored", GPUS: ""})
    searcher.on_trial_complete("long", {"val_loss": 0.8, "epoch": 2, **here})
    # Ray hands a result that stops a trial (pruned, failed) to on_trial_complete alone.
    searcher.suggest("stopped")
    searcher.on_trial_complete("stopped", {"val_loss": 0.9, "epoch": 1, NODE: "node-b", GPUS: ""})
    long, stopped = study.trials
    assert (long.user_attrs[NODE], long.user_attrs[GPUS]) == ("node-a", "1")
    assert (stopped.user_attrs[NODE], stopped.user_attrs[GPUS]) == ("node-b", "")
    assert len(searcher.live) == 0  # nothing kept once trials end


def test_error_is_told_fail_with_the_reason(tmp_path: Path) -> None:
    """The reason names the traceback's copy under the run directory, not Ray's session
    folder, which goes with the session."""
    from types import SimpleNamespace

    study, searcher, scheduler, _ = make()
    searcher.suggest("x")
    session = tmp_path / "ray-session" / "artifacts" / "trial_x"
    session.mkdir(parents=True)
    error_file = session / "error.txt"
    error_file.write_text("Failure # 1\nTraceback ...\n  File x\nRuntimeError: worker exploded\n")
    kept = tmp_path / "run" / "ray" / "trial_x"
    ray_trial = FakeTrial(
        "x", str(error_file), str(kept), SimpleNamespace(error_filename="error.txt")
    )
    scheduler.on_trial_error(None, ray_trial)
    searcher.on_trial_complete("x", None, error=True)
    (trial,) = study.trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[FAIL_REASON] == (
        f"RuntimeError: worker exploded (traceback: {kept / 'error.txt'})"
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


def test_finished_once_the_study_holds_the_target_counting_running_trials() -> None:
    _, searcher, _, _ = make(target=2)
    assert isinstance(searcher.suggest("a"), dict)
    assert isinstance(searcher.suggest("b"), dict)
    # Two running already: none now, but not FINISHED (Ray would never ask again), ...
    assert searcher.suggest("c") is None
    searcher.on_trial_complete("a", None, error=True)  # ... for a failure is replaced
    assert isinstance(searcher.suggest("d"), dict)
    searcher.on_trial_complete("b", {"val_loss": 0.5})
    searcher.on_trial_complete("d", {"val_loss": 0.4})
    assert searcher.suggest("e") == Searcher.FINISHED  # two finished, none running


def test_finished_when_failures_exceed_the_budget() -> None:
    _, searcher, _, _ = make(budget=1)
    for name in "ab":
        searcher.suggest(name)
        searcher.on_trial_complete(name, None, error=True)
    assert searcher.over_failure_budget
    assert searcher.suggest("c") == Searcher.FINISHED


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
    ("value", "how", "expected"),
    [
        (0.4, {}, ("COMPLETE", 0.4, None)),
        (3, {}, ("COMPLETE", 3.0, None)),
        (0.9, {"pruned": True}, ("PRUNED", None, None)),
        (None, {"error": True, "raised": "OSError: disk (tb: e.txt)"}, ("FAIL", None, "OSError")),
        (None, {"error": True}, ("FAIL", None, "the trial raised an error")),
        (0.4, {"failed": "DivergedError: nan"}, ("FAIL", None, "DivergedError")),
        (0.9, {"failed": "out of memory", "pruned": True}, ("FAIL", None, "out of memory")),
        (float("nan"), {}, ("FAIL", None, "without a finite val_loss (got nan)")),
        (float("inf"), {}, ("FAIL", None, "without a finite")),
        ("0.4", {}, ("FAIL", None, "without a finite")),
        (None, {}, ("FAIL", None, "got None")),
    ],
)
def test_outcome_of_a_trial(value, how: dict, expected: tuple) -> None:
    state, told, reason = outcome(value, metric="val_loss", **how)
    want_state, want_value, want_reason = expected
    assert (state.name, told) == (want_state, want_value)
    assert reason is None if want_reason is None else want_reason in reason


def test_a_searched_budget_trains_every_trial_fully_and_keeps_the_chosen_epoch() -> None:
    budget = TrialEpochs(epochs=3, choices=(2, 3), searched=True)
    study, searcher, scheduler, _ = make()
    searcher.trial_epochs = budget
    config = searcher.suggest("a")
    assert config["epochs"] == 3 and set(config) == {"lr", "batch_size", "epochs"}
    epochs(scheduler, "a", [0.9, 0.3, 0.4], searcher)
    searcher.on_trial_complete("a", {"val_loss": 0.4, "epoch": 3})
    (trial,) = study.trials
    assert trial.value == 0.3 and trial.user_attrs[CHOSEN_EPOCHS] == 2
    assert "epochs" not in trial.params


def test_saving_for_ray_writes_nothing_the_storage_is_the_checkpoint(tmp_path) -> None:
    _, searcher, _, _ = make()
    searcher.suggest("a")
    searcher.save(str(tmp_path / "searcher.pkl"))
    assert not (tmp_path / "searcher.pkl").exists()


def constrained(sampler: optuna.samplers.BaseSampler):
    """A searcher over three backbones of which only `small` is within latency_ms 4."""
    from search.engine.live_trials import LiveTrials
    from search.engine.serving import Serving

    costs = {
        name: {"params_m": params, "macs_g": 0.1, "latency_ms": latency, "throughput": 100.0}
        for name, params, latency in (("small", 3.0, 1.0), ("mid", 4.0, 5.0), ("big", 5.0, 9.0))
    }
    space = {
        "backbone": CategoricalDistribution(list(costs)),
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
    }
    study = optuna.create_study(sampler=sampler)
    serving = Serving(costs, "small", {"latency_ms": 4.0}, "cpu")
    searcher = OptunaSearcher(
        study, space, LiveTrials(), metric="val_loss", target=12, failure_budget=3, serving=serving
    )
    for n in range(12):
        config = searcher.suggest(f"t{n}")
        searcher.on_trial_complete(f"t{n}", {"val_loss": config["lr"], "epoch": 1})
    return study, searcher


def test_a_draw_that_breaks_the_constraints_is_never_trained_and_never_counted() -> None:
    study, searcher = constrained(optuna.samplers.RandomSampler(seed=0))
    trained = [t for t in study.trials if t.state == TrialState.COMPLETE]
    skipped = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert len(trained) == 12 and searcher.finished == 12 and skipped
    assert {t.params["backbone"] for t in trained} == {"small"}
    assert all(
        t.user_attrs["latency_ms"] == 1.0 and t.constraints == {"latency_ms": -3.0} for t in trained
    )
    for trial in skipped:
        assert trial.params["backbone"] in ("mid", "big") and not trial.intermediate_values
        assert trial.user_attrs[INFEASIBLE].startswith("breaks search.constraints: latency_ms ")
        assert trial.constraints["latency_ms"] > 0
    assert finished_count(study) == 12 and state_counts(study.trials)["INFEASIBLE"] == len(skipped)


def test_the_constrained_sampler_learns_to_avoid_what_breaks_them() -> None:
    """TPE reads each trial's constraints: after its random start-up it rarely proposes an
    infeasible backbone again, where random sampling keeps proposing two in three."""
    random_skips = [
        sum(
            t.state == TrialState.PRUNED
            for t in constrained(optuna.samplers.RandomSampler(seed=s))[0].trials
        )
        for s in range(3)
    ]
    tpe_skips = [
        sum(
            t.state == TrialState.PRUNED
            for t in constrained(optuna.samplers.TPESampler(seed=s, n_startup_trials=4))[0].trials
        )
        for s in range(3)
    ]
    assert sum(tpe_skips) < sum(random_skips) / 2, (tpe_skips, random_skips)
