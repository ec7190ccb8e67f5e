"""Every call into Optuna's private surface, in one place, each with why no public API does it.

tests/search_tests/engine/test_optuna_internals.py fails when Optuna changes any of them: a
new Optuna release is checked there first. Everything else in search/ uses public APIs.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import TYPE_CHECKING, Any

from optuna.trial import Trial

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial, TrialState

Shown = Callable[[list["FrozenTrial"]], list["FrozenTrial"]]


class StudyView:
    """`study` with its trials passed through `shown`, for a sampler or a pruner: everything
    else is the study's own.

    Private: Optuna's samplers and pruners read trials through `Study._get_trials(deepcopy,
    states, use_cache)`, not the public `get_trials`, so a view must answer that name too.
    Public Optuna offers no hook to show a sampler other values than the storage holds
    (warm-start trials on today's scale, search/engine/warm_view.py) or to hide trials from a
    pruner.
    """

    def __init__(self, study: optuna.Study, shown: Shown) -> None:
        self._study, self._shown = study, shown

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        return self._get_trials(deepcopy=deepcopy, states=states)

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
        use_cache: bool = False,
    ) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)
        return self._shown(trials)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()


def running_trial(
    study: optuna.Study, storage: optuna.storages.BaseStorage, template: FrozenTrial
) -> optuna.trial.Trial:
    """A RUNNING trial made from `template` (its parameters, distributions and user attrs),
    as a live `Trial` to report to and tell.

    Private: `BaseStorage.create_new_trial(study_id, template_trial=...)` and the
    `Trial(study, trial_id)` constructor. The public ways to a trial with given parameters,
    `enqueue_trial` then `ask`, leave a WAITING trial that the next `ask` of any driver may
    take (a race run would become a search trial); `add_trial` takes only finished trials.
    """

    study_id = storage.get_study_id_from_name(study.study_name)
    return Trial(study, storage.create_new_trial(study_id, template_trial=template))


__all__ = ["StudyView", "running_trial"]
