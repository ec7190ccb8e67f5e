"""Accuracy against serving cost, read off stored trials: each trial's cost (its user attrs),
whether it meets search.constraints, and the Pareto front of the metric against latency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from search.study.constraints import COST_KEYS, broken

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


def cost_of(trial: FrozenTrial) -> dict[str, float] | None:
    """The serving cost the trial carries; None for a trial stored before it was measured."""
    if not all(k in trial.user_attrs for k in COST_KEYS):
        return None
    return {k: float(trial.user_attrs[k]) for k in COST_KEYS}


def meets(trial: FrozenTrial, limits: dict[str, float]) -> bool:
    """Within every bound; with bounds set, a trial of unknown cost never is."""
    if not limits:
        return True
    cost = cost_of(trial)
    return cost is not None and broken(cost, limits) is None


def pareto_front(
    trials: Sequence[FrozenTrial], minimize: bool, cost: str = "latency_ms"
) -> list[FrozenTrial]:
    """The complete trials no other beats on both the value and `cost` (lower is better),
    by ascending cost; of equal trials, the earliest."""
    sign = 1 if minimize else -1
    known = [t for t in trials if t.value is not None and cost_of(t) is not None]
    ranked = sorted(known, key=lambda t: (cost_of(t)[cost], sign * t.value, t.number))  # type: ignore[index]
    front: list[FrozenTrial] = []
    for trial in ranked:  # cheapest first: on the front if better than every cheaper one
        if not front or sign * trial.value < sign * front[-1].value:  # type: ignore[operator]
            front.append(trial)
    return front
