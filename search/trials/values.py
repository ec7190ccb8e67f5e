"""Values read off stored trials: a trial's last value, the best trial, the study's direction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from optuna.study import StudyDirection

from search.trials.attrs import CHOSEN_EPOCHS
from search.trials.states import complete_trials

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
    """The search's best complete trial (race runs left out), or None while there is none;
    the earliest of equals, as Optuna's best_trial."""

    complete = complete_trials(study)
    if not complete:
        return None
    sign = 1 if minimizes(study) else -1
    return min(complete, key=lambda t: sign * float(t.value))


def format_value(value: Any) -> str:
    """A parameter's value as lines and tables show it: floats to three figures."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={format_value(v)}" for k, v in params.items())


def last_value(trial: FrozenTrial) -> float | None:
    """A trial's value; for a pruned, failed or running one, its last reported epoch's."""
    if trial.value is not None:
        return trial.value
    values = [v for _, v in sorted(trial.intermediate_values.items())]
    return values[-1] if values else None


def shown_params(trial: FrozenTrial) -> dict[str, Any]:
    """The sampled parameters, and the epochs a complete trial chose when epochs is searched:
    what its refit would train."""
    chosen = trial.user_attrs.get(CHOSEN_EPOCHS)
    return trial.params if chosen is None else {**trial.params, "epochs": chosen}
