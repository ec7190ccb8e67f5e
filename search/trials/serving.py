"""Accuracy against serving cost, read off stored trials: each trial's cost (its user attrs),
whether it meets search.constraints, and the Pareto front of the metric against latency."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

MAXIMA = ("latency_ms", "params_m", "macs_g")
MINIMA = ("throughput",)
COST_KEYS = ("params_m", "macs_g", "latency_ms", "throughput")  # a backbone's measured figures


def excess(cost: dict[str, float], limits: dict[str, float]) -> dict[str, float]:
    """Per bound, how far `cost` is past it: > 0 breaks it, <= 0 meets it."""
    return {
        name: (cost[name] - bound) if name in MAXIMA else (bound - cost[name])
        for name, bound in limits.items()
    }


def broken(cost: dict[str, float], limits: dict[str, float]) -> str | None:
    """The bounds `cost` breaks, in words (`latency_ms 5.21 > 4`); None when it meets all."""
    parts = [
        f"{name} {cost[name]:g} {'>' if name in MAXIMA else '<'} {limits[name]:g}"
        for name, over in excess(cost, limits).items()
        if over > 0
    ]
    return ", ".join(parts) or None


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
