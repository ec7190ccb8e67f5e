"""The pruning scheduler, fed fake results: no Ray is started."""

from __future__ import annotations

from ray.tune.schedulers import TrialScheduler

from tests.search_tests.helpers import epochs, make


def test_non_finite_epoch_is_not_reported_to_the_pruner() -> None:
    study, searcher, scheduler, _ = make()
    searcher.suggest("n")
    assert epochs(scheduler, "n", [float("nan")]) == [TrialScheduler.CONTINUE]
    assert study.trials[0].intermediate_values == {}
