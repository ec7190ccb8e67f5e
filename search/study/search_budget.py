"""`search.budget`: when the search stops, in the units people plan in.

Any of `trials` (finished trials), `epochs` (epochs trained, summed over trials), `minutes`
(the search's wall-clock time) and `gpu_hours` (GPU time summed over trials: a trial on a
quarter of a GPU for an hour spends 0.25), alone or together: the search stops at the first
reached (search/engine/spend.py). `search.trials` alone is `budget: {trials: N}`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LimitName = Literal["trials", "epochs", "minutes", "gpu_hours"]
LIMITS: tuple[LimitName, ...] = ("trials", "epochs", "minutes", "gpu_hours")
DEFAULT_TRIALS = 20  # with neither search.trials nor search.budget


class BudgetSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    trials: int | None = Field(None, gt=0, description="finished (complete or pruned) trials")
    epochs: int | None = Field(None, gt=0, description="epochs trained, summed over trials")
    minutes: float | None = Field(None, gt=0, description="the search's wall-clock time")
    gpu_hours: float | None = Field(None, gt=0, description="GPU time summed over trials")

    @model_validator(mode="after")
    def _something_to_stop_at(self) -> BudgetSpec:
        if not self.limits:
            raise ValueError(
                "must set at least one of trials, epochs, minutes, gpu_hours "
                "(or leave budget out for search.trials)"
            )
        return self

    @property
    def limits(self) -> dict[LimitName, float]:
        """The limits set, by name, in LIMITS' order."""
        return {k: getattr(self, k) for k in LIMITS if getattr(self, k) is not None}

    def shown(self) -> str:
        """'12 trials or 3 minutes': the stop in words."""
        return " or ".join(f"{_number(v)} {_unit(k, v)}" for k, v in self.limits.items())


def spent_line(summary: dict[str, Any]) -> str:
    """'budget: stopped by minutes; spent 3.02 of 3 minutes, 41 epochs, 14 trials'."""
    limits, spent = summary["limits"], summary["spent"]
    parts = []
    for name in LIMITS:
        if name not in spent or (name == "gpu_hours" and not spent[name] and name not in limits):
            continue
        unit = "GPU-hours" if name == "gpu_hours" else name
        of = f" of {limits[name]:g}" if name in limits else ""
        parts.append(f"{spent[name]:g}{of} {unit}")
    reached = summary.get("stopped_by")
    head = f"stopped by its {reached} limit" if reached else "within all its limits"
    return f"budget: {head}; spent {', '.join(parts)}"


def _number(value: float) -> str:
    return f"{value:g}"


def _unit(name: str, value: float) -> str:
    unit = name.replace("_", "-")  # gpu_hours -> gpu-hours
    if unit == "gpu-hours":
        unit = "GPU-hours"
    return unit[:-1] if value == 1 else unit


__all__ = ["DEFAULT_TRIALS", "LIMITS", "BudgetSpec", "LimitName", "spent_line"]
