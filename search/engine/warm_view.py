"""What the sampler and the pruner see of a warm-started study.

Warm-start trials (search/start/warm_start.py) carry their earlier study's values, on that
study's scale: a loss of 0.07 on digits and of 0.4 on photographs say the same of their
configurations if both are their study's best. TPE, Optuna's default, uses values only to rank
trials into good and bad, so the sampler is shown each warm trial at its rank within its own
study, placed on today's scale: the earlier study's best beside today's best, its median
beside today's median (on a scale of 0 to 1 while today has fewer than two complete trials).
The storage, the dashboard and trials.csv keep the true values.

The median and percentile pruners never see warm trials: they would count them as finished
trials to start pruning by, with no curve to compare against.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection

from search.engine.optuna_internals import StudyView
from search.trials.attrs import WARM_FROM
from search.trials.states import is_complete, is_search_trial, is_warm

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


def on_todays_scale(trials: list[FrozenTrial], minimize: bool) -> list[FrozenTrial]:
    """`trials` with each complete warm trial's value replaced by its rank in its own study,
    placed on the scale of today's complete trials (copies; the others as they are)."""
    groups: dict[str, list[FrozenTrial]] = defaultdict(list)
    for trial in trials:
        if is_warm(trial) and is_complete(trial):
            groups[trial.user_attrs[WARM_FROM]].append(trial)
    if not groups:
        return trials
    sign = 1.0 if minimize else -1.0
    today = sorted(sign * t.value for t in trials if is_search_trial(t) and is_complete(t))
    placed: dict[int, float] = {}
    for members in groups.values():
        members.sort(key=lambda t: sign * t.value)
        for rank, trial in enumerate(members):
            quantile = rank / (len(members) - 1) if len(members) > 1 else 0.5
            if len(today) >= 2:
                at = np.interp(quantile, np.linspace(0, 1, len(today)), today)
            else:
                at = quantile
            placed[trial.number] = sign * float(at)
    shown = []
    for trial in trials:
        if trial.number in placed:
            trial = copy.copy(trial)
            trial.value = placed[trial.number]
        shown.append(trial)
    return shown


def warm_sampler(base: optuna.samplers.BaseSampler) -> optuna.samplers.BaseSampler:
    """`base`, seeing warm-start trials by rank on today's scale."""

    def view(study: optuna.Study) -> Any:
        minimize = study.direction == StudyDirection.MINIMIZE
        return StudyView(study, lambda trials: on_todays_scale(trials, minimize))

    class WarmStartSampler(BaseSampler):
        def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
            return base.infer_relative_search_space(view(study), trial)

        def sample_relative(self, study: Any, trial: Any, space: dict[str, Any]) -> dict:
            return base.sample_relative(view(study), trial, space)

        def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
            return base.sample_independent(view(study), trial, name, dist)

        def before_trial(self, study: Any, trial: Any) -> None:
            base.before_trial(study, trial)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            base.after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            base.reseed_rng()

    return WarmStartSampler()


def warm_pruner(base: optuna.pruners.BasePruner) -> optuna.pruners.BasePruner:
    """`base`, blind to warm-start trials."""

    def search_only(trials: list[FrozenTrial]) -> list[FrozenTrial]:
        return [t for t in trials if not is_warm(t)]

    class SearchOnlyPruner(BasePruner):
        def prune(self, study: Any, trial: Any) -> bool:
            return base.prune(StudyView(study, search_only), trial)

    return SearchOnlyPruner()


__all__ = ["on_todays_scale", "warm_pruner", "warm_sampler"]
