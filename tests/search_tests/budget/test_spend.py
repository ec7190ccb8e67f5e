"""search.budget as the search spends it: counted, kept in the storage, and the stop it makes.
No Ray is started: the scheduler and searcher are fed results as Ray would."""

from __future__ import annotations

import optuna
from ray.tune.schedulers import TrialScheduler

from search.budget import BudgetSpec, Spend, spent_line
from search.study.epochs import TrialEpochs
from search.trials.attrs import BUDGET_SPENT, STOPPED
from search.trials.states import state_name
from tests.search_tests.helpers import FakeTrial, epochs, make


def a_study() -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study()


def test_epochs_are_counted_and_the_limit_is_reached_at_the_epoch_that_spends_it() -> None:
    spend = Spend(a_study(), BudgetSpec(epochs=3), gpus_per_trial=0)
    for _ in range(2):
        spend.epoch({"time_this_iter_s": 1.0})
    assert spend.reached() is None
    spend.epoch({"time_this_iter_s": 1.0})
    assert spend.reached() == "epochs" == spend.stopped_by


def test_gpu_time_is_each_trials_share_times_its_time() -> None:
    spend = Spend(a_study(), BudgetSpec(gpu_hours=0.001), gpus_per_trial=0.25)
    spend.epoch({"time_this_iter_s": 7.2})  # 1.8 GPU-seconds: 0.0005 GPU-hours
    assert spend.figures()["gpu_hours"] == 0.0005 and spend.reached() is None
    spend.epoch({"time_this_iter_s": 7.2})
    assert spend.reached() == "gpu_hours"


def test_minutes_count_the_clock_and_what_earlier_runs_spent(monkeypatch) -> None:
    import time

    study = a_study()
    study.set_user_attr(BUDGET_SPENT, {"seconds": 50.0, "gpu_seconds": 0.0})  # a killed run's
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    spend = Spend(study, BudgetSpec(minutes=1), gpus_per_trial=0)
    clock[0] += 9.0
    assert spend.reached() is None and spend.seconds == 59.0
    clock[0] += 1.0
    assert spend.reached() == "minutes"
    assert study.user_attrs[BUDGET_SPENT]["seconds"] == 60.0  # saved for the next run


def test_a_resumed_search_counts_the_epochs_in_the_storage() -> None:
    study, searcher, scheduler, _ = make()
    searcher.suggest("a")
    epochs(scheduler, "a", [0.5, 0.4])
    searcher.on_trial_complete("a", {"val_loss": 0.4, "epoch": 2})
    assert Spend(study, BudgetSpec(epochs=10), gpus_per_trial=0).epochs == 2


def test_the_trials_limit_counts_finished_trials_when_told_them() -> None:
    spend = Spend(a_study(), BudgetSpec(trials=4, minutes=60), gpus_per_trial=0)
    assert spend.reached() is None and spend.reached(finished=3) is None
    assert spend.reached(finished=4) == "trials"
    summary = spend.summary(finished=4)
    assert summary["stopped_by"] == "trials" and summary["spent"]["trials"] == 4
    assert spent_line(summary).startswith(
        "budget: stopped by its trials limit; spent 4 of 4 trials"
    )


def stopped_search(budget: TrialEpochs, values: list[float]):
    """One trial that has run `values` when an epochs budget of len(values) runs out."""
    study, searcher, scheduler, _ = make()
    spend = Spend(study, BudgetSpec(epochs=len(values)), gpus_per_trial=0)
    searcher.trial_epochs, searcher.spend, scheduler.spend = budget, spend, spend
    scheduler.epochs = budget.epochs
    searcher.suggest("a")
    decisions = epochs(scheduler, "a", values, searcher)
    searcher.on_trial_complete("a", {"val_loss": values[-1], "epoch": len(values)})
    return study, searcher, decisions


def test_the_budget_stops_a_running_trial_after_its_epoch_and_says_so() -> None:
    searched = TrialEpochs(epochs=4, choices=(1, 2, 3, 4), searched=True)
    study, searcher, decisions = stopped_search(searched, [0.6, 0.5])
    assert decisions == [TrialScheduler.CONTINUE, TrialScheduler.STOP]
    trial = study.trials[0]
    # It reached epoch counts the study may choose: kept as what it is, a complete trial.
    assert trial.state.name == "COMPLETE" and trial.value == 0.5
    assert trial.user_attrs[STOPPED] == "search.budget.epochs reached"
    assert searcher.suggest("b") == "FINISHED"  # nothing more starts


def test_a_trial_stopped_short_of_any_choice_is_stopped_not_pruned() -> None:
    held = TrialEpochs(epochs=4, choices=(4,), searched=False)  # mid-schedule at epoch 2
    study, _, decisions = stopped_search(held, [0.6, 0.5])
    assert decisions[-1] == TrialScheduler.STOP
    trial = study.trials[0]
    assert trial.state.name == "PRUNED" and state_name(trial) == "STOPPED"
    from search.trials.states import is_finished, is_pruned

    assert is_finished(trial) and not is_pruned(trial)  # counts, but the pruner did not do it


def test_a_trial_at_its_last_epoch_is_not_stopped_by_the_budget() -> None:
    held = TrialEpochs(epochs=2, choices=(2,), searched=False)
    study, _, decisions = stopped_search(held, [0.6, 0.5])
    assert decisions == [TrialScheduler.CONTINUE] * 2
    assert study.trials[0].state.name == "COMPLETE" and STOPPED not in study.trials[0].user_attrs


def test_the_scheduler_counts_each_search_epoch_once() -> None:
    study, searcher, scheduler, _ = make()
    spend = Spend(study, BudgetSpec(epochs=100), gpus_per_trial=0)
    scheduler.spend = spend
    searcher.suggest("a")
    epochs(scheduler, "a", [0.5, 0.4, 0.3])
    scheduler.on_trial_result(None, FakeTrial("unknown"), {"val_loss": 0.1, "epoch": 1})
    assert spend.epochs == 3
