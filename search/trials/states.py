"""How stored trials ended, and how many did: every state check goes through Optuna's
TrialState here, never through its name as a string."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from search.trials.attrs import FAIL_REASON, INFEASIBLE, INTERRUPTED, RACE_OF, STOPPED, WARM_FROM

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)  # what search.trials counts
States = tuple[TrialState, ...] | None


def is_race_run(trial: FrozenTrial) -> bool:
    """A run of the race before the refit (search/selection/race.py): it trains a search trial's
    configuration again, and counts towards nothing the search counts."""
    return RACE_OF in trial.user_attrs


def is_warm(trial: FrozenTrial) -> bool:
    """A trial of an earlier study (search.warm_start), there for the sampler to learn from;
    it counts towards nothing the search counts and is never refitted."""
    return WARM_FROM in trial.user_attrs


def is_search_trial(trial: FrozenTrial) -> bool:
    return not is_race_run(trial) and not is_warm(trial)


def search_trials(study: optuna.Study, states: States = None) -> list[FrozenTrial]:
    """The search's own trials (in `states`): race runs and warm-start trials left out."""
    return [t for t in study.get_trials(deepcopy=False, states=states) if is_search_trial(t)]


def warm_trials(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if is_warm(t)]


def race_runs(study: optuna.Study, states: States = None) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=states) if is_race_run(t)]


def is_complete(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.COMPLETE


def is_pruned(trial: FrozenTrial) -> bool:
    """Stopped by the pruner (not skipped as infeasible, nor stopped by the budget)."""
    return trial.state == TrialState.PRUNED and not is_infeasible(trial) and not is_stopped(trial)


def is_stopped(trial: FrozenTrial) -> bool:
    """Stopped by search.budget before its epochs were done (COMPLETE or PRUNED)."""
    return STOPPED in trial.user_attrs


def is_infeasible(trial: FrozenTrial) -> bool:
    """Told PRUNED without training: its backbone breaks search.constraints. It shows the
    sampler what not to propose, and counts towards nothing."""
    return trial.state == TrialState.PRUNED and INFEASIBLE in trial.user_attrs


def is_failed(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.FAIL


def is_running(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.RUNNING


def is_finished(trial: FrozenTrial) -> bool:
    """Complete or pruned: a trial the search counts towards search.trials."""
    return trial.state in FINISHED and not is_infeasible(trial)


def state_name(trial: FrozenTrial) -> str:
    """COMPLETE, PRUNED, FAIL, RUNNING, ...; INFEASIBLE for a trial skipped untrained, STOPPED
    for one the budget stopped short of any epoch count it could stand for."""
    if is_infeasible(trial):
        return "INFEASIBLE"
    if trial.state == TrialState.PRUNED and is_stopped(trial):
        return "STOPPED"
    return trial.state.name


def state_counts(trials: Iterable[FrozenTrial]) -> dict[str, int]:
    """State name (as `state_name` says it) -> how many trials are in it; trials still
    queued (WAITING: a portfolio entry or a retry the search stopped before) are not counted."""
    return dict(Counter(state_name(t) for t in trials if t.state != TrialState.WAITING))


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    return search_trials(study, (TrialState.COMPLETE,))


def finished_count(study: optuna.Study) -> int:
    return sum(is_finished(t) for t in search_trials(study, FINISHED))


def failed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that failed by themselves (interrupted ones are the search's fault, not theirs)."""
    return [
        t
        for t in search_trials(study, (TrialState.FAIL,))
        if t.user_attrs.get(FAIL_REASON) != INTERRUPTED
    ]
