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
    scheduler.epochs = 2
    searcher.suggest("good")
    epochs(scheduler, "good", [0.3, 0.2])
    searcher.on_trial_complete("good", {"val_loss": 0.2, "epoch": 2})
    searcher.suggest("late")
    assert epochs(scheduler, "late", [0.25, 0.9]) == [TrialScheduler.CONTINUE] * 2
    searcher.on_trial_complete("late", {"val_loss": 0.9, "epoch": 2})
    assert study.trials[1].state.name == "COMPLETE"
    assert study.trials[1].intermediate_values == {1: 0.25, 2: 0.9}


def test_pruning_state_survives_a_restart_of_the_search(tmp_path) -> None:
    """Successive halving's rungs live in the storage: a new driver prunes as the old would."""
    from search.engine.optuna_study import open_study
    from search.rundir.storage import open_storage
    from search.study.spec import parse_study_spec
    from tests.search_tests.helpers import tiny_study

    spec = parse_study_spec(
        tiny_study(
            space={"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
            fixed={"epochs": 3},
            search={"pruner": "successive_halving", "trials": 8},
        )
    )
    url = f"sqlite:///{tmp_path / 'optuna.db'}"

    def driver() -> tuple:  # what one hpsearch run wires up
        from search.engine.live_trials import LiveTrials
        from search.engine.scheduler import OptunaPruningScheduler
        from search.engine.searcher import OptunaSearcher
        from search.study.space import distributions

        opened = open_study(spec, open_storage(url))
        live = LiveTrials()
        searcher = OptunaSearcher(
            opened.study, distributions(spec), live, metric="val_loss", target=8, failure_budget=3
        )
        return opened.study, searcher, OptunaPruningScheduler(live, "val_loss", epochs=3)

    _, searcher, scheduler = driver()
    for name, first in (("a", 0.3), ("b", 0.4), ("c", 0.5)):
        searcher.suggest(name)
        epochs(scheduler, name, [first, first - 0.1, first - 0.2], searcher)
        searcher.on_trial_complete(name, {"val_loss": first - 0.2, "epoch": 3})
    _, searcher, scheduler = driver()  # the search was killed and runs again
    searcher.suggest("d")
    assert epochs(scheduler, "d", [0.9]) == [TrialScheduler.STOP]  # worse than the rung's best
