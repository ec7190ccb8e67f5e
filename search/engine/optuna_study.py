"""The Optuna study of a search: open it, count its trials, and read values off them.

Public Optuna APIs only. The storage is kept beside the study (`OpenStudy`), because marking a
trial that a dead search left RUNNING takes the storage's own calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from search.engine.strategies import make_pruner, make_sampler, max_epochs
from search.engine.trial_attrs import FAIL_REASON, INTERRUPTED
from search.study.spec import StudySpec

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


@dataclass(frozen=True)
class OpenStudy:
    study: optuna.Study
    storage: optuna.storages.BaseStorage


def open_study(spec: StudySpec, storage: optuna.storages.BaseStorage) -> OpenStudy:
    """Create the study, or load it to resume or extend; a new sampler seed on each reopening."""
    import optuna

    summary = next(
        (s for s in optuna.get_all_study_summaries(storage) if s.study_name == spec.name), None
    )
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=make_sampler(spec.search, spec.search.seed + (summary.n_trials if summary else 0)),
        pruner=make_pruner(spec.search.pruner, max_epochs(spec)),
        direction="minimize" if spec.search.direction == "min" else "maximize",
        load_if_exists=True,
    )
    return OpenStudy(study, storage)


def fail_interrupted(opened: OpenStudy) -> list[int]:
    """Trials left RUNNING by a search that died: tell FAIL, so nothing misleads the sampler."""
    from optuna.trial import TrialState

    study, storage = opened.study, opened.storage
    study_id = storage.get_study_id_from_name(study.study_name)
    numbers = []
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
        storage.set_trial_user_attr(trial_id, FAIL_REASON, INTERRUPTED)
        study.tell(frozen.number, state=TrialState.FAIL)
        numbers.append(frozen.number)
    return numbers


def finished_count(study: optuna.Study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def failed_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Trials that failed by themselves (interrupted ones are the search's fault, not theirs)."""
    from optuna.trial import TrialState

    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if t.user_attrs.get(FAIL_REASON) != INTERRUPTED
    ]


def best_or_none(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial, or None while there is none (Optuna raises then)."""
    try:
        return study.best_trial
    except ValueError:
        return None


def last_value(trial: FrozenTrial) -> float | None:
    """A trial's value; for a pruned, failed or running one, its last reported epoch's."""
    if trial.value is not None:
        return trial.value
    values = [v for _, v in sorted(trial.intermediate_values.items())]
    return values[-1] if values else None
