"""`space:` entries -> Optuna distributions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.study.params import CategoricalParam, FloatParam, IntParam
from search.study.spec import StudySpec

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution


def to_distribution(param: FloatParam | IntParam | CategoricalParam) -> BaseDistribution:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(param, FloatParam):
        return FloatDistribution(param.low, param.high, log=param.log, step=param.step)
    if isinstance(param, IntParam):
        return IntDistribution(param.low, param.high, log=param.log, step=param.step)
    return CategoricalDistribution(param.choices)


def distributions(spec: StudySpec) -> dict[str, BaseDistribution]:
    """What the sampler draws, in the study file's order: all of `space:` but `epochs`, which
    is the budget every trial spends and is chosen from its curve (study/budget.py)."""
    return {name: to_distribution(param) for name, param in spec.space.items() if name != "epochs"}
