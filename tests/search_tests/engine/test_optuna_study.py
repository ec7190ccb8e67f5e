"""The Optuna study helpers: trials a dead search left running, best and last values."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from search.engine.optuna_study import OpenStudy, best_or_none, fail_interrupted, last_value
from search.engine.trial_attrs import FAIL_REASON, INTERRUPTED


def test_running_trials_left_by_a_killed_search_are_told_fail() -> None:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    done = study.ask()
    study.tell(done, 1.0)
    left = study.ask()
    left.report(0.5, 1)
    assert fail_interrupted(OpenStudy(study, storage)) == [left.number]
    trial = study.trials[left.number]
    assert trial.state == TrialState.FAIL and trial.user_attrs[FAIL_REASON] == INTERRUPTED
    assert trial.intermediate_values == {1: 0.5}
    assert study.trials[done.number].state == TrialState.COMPLETE


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
