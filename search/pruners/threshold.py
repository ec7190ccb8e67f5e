"""The threshold pruner: a trial stops as soon as its metric leaves a range the study sets,
whatever the other trials did (a loss that a working configuration never reaches, an accuracy
no better than chance)."""

from __future__ import annotations

from typing import Literal

import optuna
from pydantic import Field, model_validator

from search.pruners.base import PRUNERS, Pruner


@PRUNERS.register
class Threshold(Pruner):
    type: Literal["threshold"] = "threshold"
    lower: float | None = Field(None, description="stop below it (for a metric to maximise)")
    upper: float | None = Field(None, description="stop above it (for a loss)")
    warmup_epochs: int = Field(0, ge=0, description="the first epoch it may prune at")

    @model_validator(mode="after")
    def _a_bound(self) -> Threshold:
        if self.lower is None and self.upper is None:
            raise ValueError("threshold needs lower or upper (or both); e.g. upper: 2.0 for a loss")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower must be below upper, got {self.lower} > {self.upper}")
        return self

    def make(self, epochs: int) -> optuna.pruners.BasePruner:

        return optuna.pruners.ThresholdPruner(
            lower=self.lower, upper=self.upper, n_warmup_steps=self.warmup_epochs
        )

    def rule(self, metric: str, epochs: int) -> str:
        bounds = []
        if self.upper is not None:
            bounds.append(f"above {self.upper:g}")
        if self.lower is not None:
            bounds.append(f"below {self.lower:g}")
        return (
            f"a trial stops when its {metric} is {' or '.join(bounds)}, "
            f"from epoch {max(1, self.warmup_epochs)}"
        )

    def idle(self, epochs: int, trials: int | None) -> str | None:
        if self.warmup_epochs < epochs:
            return None
        return (
            f"pruner {self.type}: warmup_epochs {self.warmup_epochs} leaves no epoch before "
            f"the last ({epochs}) to prune at; lower warmup_epochs, or set pruner: none"
        )


__all__ = ["Threshold"]
