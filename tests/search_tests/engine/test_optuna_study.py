"""The Optuna study of a search: trials a dead search left running are told FAIL."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from search.engine.optuna_study import OpenStudy, fail_interrupted
from search.trials.attrs import FAIL_REASON, INTERRUPTED


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
