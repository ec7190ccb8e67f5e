"""States and counts of stored trials."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from search.trials.attrs import FAIL_REASON, INTERRUPTED
from search.trials.states import (
    complete_trials,
    failed_trials,
    finished_count,
    is_complete,
    is_failed,
    is_finished,
    is_pruned,
    is_running,
    state_counts,
)


def test_states_and_counts() -> None:
    study = optuna.create_study()
    study.tell(study.ask(), 0.5)
    study.tell(study.ask(), state=TrialState.PRUNED)
    failed = study.ask()
    failed.set_user_attr(FAIL_REASON, "DivergedError: training diverged")
    study.tell(failed, state=TrialState.FAIL)
    interrupted = study.ask()
    interrupted.set_user_attr(FAIL_REASON, INTERRUPTED)
    study.tell(interrupted, state=TrialState.FAIL)
    study.ask()  # still running
    trials = study.get_trials(deepcopy=False)
    checks = (is_complete, is_pruned, is_failed, is_running, is_finished)
    assert [[check(t) for check in checks] for t in trials] == [
        [True, False, False, False, True],
        [False, True, False, False, True],
        [False, False, True, False, False],
        [False, False, True, False, False],
        [False, False, False, True, False],
    ]
    assert state_counts(trials) == {"COMPLETE": 1, "PRUNED": 1, "FAIL": 2, "RUNNING": 1}
    assert finished_count(study) == 2
    assert [t.number for t in complete_trials(study)] == [0]
    assert [t.number for t in failed_trials(study)] == [2]  # interrupted is not its fault
