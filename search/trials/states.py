"""How stored trials ended, and how many did: every state check goes through Optuna's
TrialState here, never through its name as a string."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from optuna.trial import TrialState

from search.trials.attrs import FAIL_REASON, INFEASIBLE, INTERRUPTED, RACE_OF

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)  # what search.trials counts
States = tuple[TrialState, ...] | None


def is_race_run(trial: FrozenTrial) -> bool:
    """A run of the race before the refit (search/trials/race.py): it trains a search trial's
    configuration again, and counts towards nothing the search counts."""
    return RACE_OF in trial.user_attrs


def search_trials(study: optuna.Study, states: States = None) -> list[FrozenTrial]:
    """The search's own trials (in `states`), race runs left out."""
    return [t for t in study.get_trials(deepcopy=False, states=states) if not is_race_run(t)]


def race_runs(study: optuna.Study, states: States = None) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=states) if is_race_run(t)]


def is_complete(trial: FrozenTrial) -> bool:
    return trial.state == TrialState.COMPLETE


def is_pruned(trial: FrozenTrial) -> bool:
    """Stopped by the pruner (not skipped as infeasible)."""
    return trial.state == TrialState.PRUNED and not is_infeasible(trial)


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
    """COMPLETE, PRUNED, FAIL, RUNNING, ... or INFEASIBLE for a trial skipped untrained."""
    return "INFEASIBLE" if is_infeasible(trial) else trial.state.name


def state_counts(trials: Iterable[FrozenTrial]) -> dict[str, int]:
    """State name (as `state_name` says it) -> how many trials are in it."""
    return dict(Counter(state_name(t) for t in trials))


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
