"""The Optuna study of a search: open it, and tell FAIL what a dead search left running.

Public Optuna APIs only (the private ones are in search/engine/optuna_internals.py). The
storage is kept beside the study (`OpenStudy`), because marking a trial that a dead search left
RUNNING takes the storage's own calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from search.budget import DEFAULT_TRIALS
from search.engine.warm_view import warm_pruner, warm_sampler
from search.study.spec import StudySpec
from search.trials.attrs import FAIL_REASON, INTERRUPTED, STUDY_SPEC


@dataclass(frozen=True)
class OpenStudy:
    study: optuna.Study
    storage: optuna.storages.BaseStorage


def open_study(spec: StudySpec, storage: optuna.storages.BaseStorage) -> OpenStudy:
    """Create the study, or load it to resume or extend; a new sampler seed on each reopening."""

    summary = next(
        (s for s in optuna.get_all_study_summaries(storage) if s.study_name == spec.name), None
    )
    search = spec.search
    seed = search.seed + (summary.n_trials if summary else 0)
    sampler = search.sampler.make(seed, search.trial_limit or DEFAULT_TRIALS)
    pruner = search.pruner.make(spec.trial_epochs.epochs)
    if search.warm_start:  # earlier studies' trials, by rank, for the sampler alone
        sampler = warm_sampler(sampler)
        if search.pruner.compares_trials:
            pruner = warm_pruner(pruner)
    study = optuna.create_study(
        study_name=spec.name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction="minimize" if spec.search.direction == "min" else "maximize",
        load_if_exists=True,
    )
    # What it searched, for a later study that warm-starts from this one's storage.
    study.set_user_attr(STUDY_SPEC, _without_urls(spec))
    return OpenStudy(study, storage)


def _without_urls(spec: StudySpec) -> dict:
    """The spec as JSON, less the storage URLs (they may hold a password)."""
    raw = spec.model_dump(mode="json", exclude={"storage": True})
    raw["search"]["warm_start"] = [s for s in raw["search"]["warm_start"] if isinstance(s, str)]
    return raw


def fail_interrupted(opened: OpenStudy) -> list[int]:
    """Trials left RUNNING by a search that died: tell FAIL, so nothing misleads the sampler."""

    study, storage = opened.study, opened.storage
    study_id = storage.get_study_id_from_name(study.study_name)
    numbers = []
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, frozen.number)
        storage.set_trial_user_attr(trial_id, FAIL_REASON, INTERRUPTED)
        study.tell(frozen.number, state=TrialState.FAIL)
        numbers.append(frozen.number)
    return numbers
