"""`space:` entries -> Optuna distributions."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from search.study.params import CategoricalParam, FloatParam, IntParam
from search.study.spec import StudySpec

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution


def to_distribution(param: FloatParam | IntParam | CategoricalParam) -> BaseDistribution:

    if isinstance(param, FloatParam):
        return FloatDistribution(param.low, param.high, log=param.log, step=param.step)
    if isinstance(param, IntParam):
        return IntDistribution(param.low, param.high, log=param.log, step=param.step)
    return CategoricalDistribution(param.choices)


def distributions(spec: StudySpec) -> dict[str, BaseDistribution]:
    """What the sampler draws, in the study file's order: all of `space:` but `epochs`, which
    is the budget every trial spends and is chosen from its curve (study/epochs.py)."""
    return {name: to_distribution(param) for name, param in spec.space.items() if name != "epochs"}


def fit_to_space(
    values: dict[str, Any], space: dict[str, BaseDistribution]
) -> tuple[dict[str, Any], list[str], str | None]:
    """`values` (an earlier study's trial, a portfolio entry) as parameters of `space`.

    Returns (params, clipped, refused): a number outside its range is clipped into it (and on
    its step), named in `clipped`; a value a choice does not offer, or a text where a number is
    wanted, refuses the whole trial (`refused` says why). Names `space` lacks are ignored;
    names `values` lacks are left for the sampler.
    """

    params: dict[str, Any] = {}
    clipped: list[str] = []
    for name, dist in space.items():
        if name not in values:
            continue
        value = values[name]
        if isinstance(dist, CategoricalDistribution):
            if value not in dist.choices:
                return {}, [], f"{name} {value!r} is not among today's choices"
            params[name] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return {}, [], f"{name} {value!r} is not a number"
        low, high = dist.low, dist.high  # type: ignore[attr-defined]
        step = dist.step  # type: ignore[attr-defined]
        fitted = min(max(value, low), high)
        if step is not None:
            fitted = min(low + round((fitted - low) / step) * step, high)
        if isinstance(dist, IntDistribution):
            fitted = round(fitted)
        if math.isclose(fitted, value, rel_tol=1e-9, abs_tol=1e-12):
            fitted = value  # on the grid already, but for float noise
        else:
            clipped.append(name)
        params[name] = fitted
    return params, clipped, None
