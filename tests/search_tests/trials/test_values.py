"""Values of stored trials: the best, a trial's last value, the study's direction."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from search.trials.values import best_of, best_or_none, last_value, minimizes


def test_best_or_none_and_last_value() -> None:
    study = optuna.create_study()
    assert best_or_none(study) is None
    pruned = study.ask()
    pruned.report(0.7, 1)
    pruned.report(0.6, 2)
    study.tell(pruned, state=TrialState.PRUNED)
    assert best_or_none(study) is None and last_value(study.trials[0]) == 0.6
    study.tell(study.ask(), 0.5)
    assert best_or_none(study).number == 1 and last_value(study.trials[1]) == 0.5
    assert last_value(study.trials[0]) == 0.6
    fresh = study.ask()
    assert last_value(study.trials[fresh.number]) is None


def test_direction_and_the_best_of_values() -> None:
    assert minimizes(optuna.create_study(direction="minimize"))
    assert not minimizes(optuna.create_study(direction="maximize"))
    assert best_of([0.3, 0.1, 0.2], minimize=True) == 0.1
    assert best_of([0.3, 0.1, 0.2], minimize=False) == 0.3
    assert best_of([], minimize=True) is None
