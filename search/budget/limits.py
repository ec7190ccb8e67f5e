"""`search.budget` of the study file: every limit, and the settings model made from them.

Any limits, alone or together: the search stops at the first reached. `search.trials` alone
is `budget: {trials: N}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from search.budget.base import Limit
from search.budget.epochs import Epochs
from search.budget.gpu_hours import GpuHours
from search.budget.minutes import Minutes
from search.budget.trials import Trials

# Every limit, in the order lines name them: adding one is a module and an entry here.
LIMITS: dict[str, Limit] = {
    limit.name: limit for limit in (Trials(), Epochs(), Minutes(), GpuHours())
}
DEFAULT_TRIALS = 20  # with neither search.trials nor search.budget


class _Budget(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="after")
    def _something_to_stop_at(self) -> _Budget:
        if not self.limits:
            raise ValueError(
                f"must set at least one of {', '.join(LIMITS)} (or leave budget out for "
                "search.trials)"
            )
        return self

    @property
    def limits(self) -> dict[str, float]:
        """The limits set, by name, in LIMITS' order."""
        return {k: getattr(self, k) for k in LIMITS if getattr(self, k) is not None}

    def shown(self) -> str:
        """'12 trials or 3 minutes': the stop in words."""
        return " or ".join(LIMITS[k].shown(v) for k, v in self.limits.items())


def _field(limit: Limit) -> tuple[Any, Any]:
    number = int if limit.whole else float
    return number | None, Field(None, gt=0, description=limit.description)


BudgetSpec = create_model(
    "BudgetSpec",
    __base__=_Budget,
    __doc__="search.budget: when the search stops, the first limit reached.",
    **{name: _field(limit) for name, limit in LIMITS.items()},
)


def spent_line(summary: dict[str, Any]) -> str:
    """'budget: stopped by its minutes limit; spent 3.02 of 3 minutes, 41 epochs, 14 trials'
    from summary.json's `budget`."""
    limits, spent = summary["limits"], summary["spent"]
    parts = []
    for name, limit in LIMITS.items():
        if name not in spent or (name not in limits and not spent[name] and limit.quiet_at_zero):
            continue
        of = f" of {limits[name]:g}" if name in limits else ""
        parts.append(f"{spent[name]:g}{of} {limit.unit}")
    reached = summary.get("stopped_by")
    head = f"stopped by its {reached} limit" if reached else "within all its limits"
    return f"budget: {head}; spent {', '.join(parts)}"


__all__ = ["DEFAULT_TRIALS", "LIMITS", "BudgetSpec", "spent_line"]
