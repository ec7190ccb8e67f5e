"""Values read off stored trials: a trial's last value, the best trial, the study's direction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from optuna.study import StudyDirection

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


def minimizes(study: optuna.Study) -> bool:
    return study.direction == StudyDirection.MINIMIZE


def best_of(values: Iterable[float], minimize: bool) -> float | None:
    """The best of `values` in the study's direction; None for none."""
    values = list(values)
    if not values:
        return None
    return min(values) if minimize else max(values)


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
