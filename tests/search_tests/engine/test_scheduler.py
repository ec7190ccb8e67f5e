"""The pruning scheduler, fed fake results: no Ray is started."""

from __future__ import annotations

import optuna
from ray.tune.schedulers import TrialScheduler

from tests.search_tests.helpers import epochs, make


def test_non_finite_epoch_is_not_reported_to_the_pruner() -> None:
    study, searcher, scheduler, _ = make()
    searcher.suggest("n")
    assert epochs(scheduler, "n", [float("nan")]) == [TrialScheduler.CONTINUE]
    assert study.trials[0].intermediate_values == {}


def test_a_trial_is_never_pruned_at_the_last_epoch_of_its_budget() -> None:
    """Pruned there, it would have spent everything and still count as stopped."""
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    study, searcher, scheduler, _ = make(pruner)
    scheduler.budget = 2
    searcher.suggest("good")
    epochs(scheduler, "good", [0.3, 0.2])
    searcher.on_trial_complete("good", {"val_loss": 0.2, "epoch": 2})
    searcher.suggest("late")
    assert epochs(scheduler, "late", [0.25, 0.9]) == [TrialScheduler.CONTINUE] * 2
    searcher.on_trial_complete("late", {"val_loss": 0.9, "epoch": 2})
    assert study.trials[1].state.name == "COMPLETE"
    assert study.trials[1].intermediate_values == {1: 0.25, 2: 0.9}
