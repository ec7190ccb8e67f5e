"""The median and percentile pruners: a trial stops when it is behind most of the earlier trials
at the same epoch."""

from __future__ import annotations

from typing import ClassVar, Literal

import optuna
from pydantic import Field

from search.pruners.base import PRUNERS, Pruner


@PRUNERS.register
class Median(Pruner):
    type: Literal["median"] = "median"
    startup_trials: int = Field(3, ge=0, description="finished trials before pruning starts")
    warmup_epochs: int = Field(0, ge=0, description="the first epoch it may prune at")
    compares_trials: ClassVar[bool] = True

    def make(self, epochs: int) -> optuna.pruners.BasePruner:

        return optuna.pruners.MedianPruner(
            n_startup_trials=self.startup_trials, n_warmup_steps=self.warmup_epochs
        )

    def rule(self, metric: str, epochs: int) -> str:
        return f"a trial stops when its {metric} is worse than the median {self._of_the_others}"

    @property
    def _of_the_others(self) -> str:
        return (
            "of the earlier trials at the same epoch, once "
            f"{self.startup_trials} trials have finished, from epoch {max(1, self.warmup_epochs)}"
        )

    def idle(self, epochs: int, trials: int | None) -> str | None:
        if self.warmup_epochs >= epochs:
            return (
                f"pruner {self.type}: warmup_epochs {self.warmup_epochs} leaves no epoch before "
                f"the last ({epochs}) to prune at; lower warmup_epochs, or set pruner: none"
            )
        if trials is not None and self.startup_trials >= trials:
            return (
                f"pruner {self.type}: startup_trials {self.startup_trials} is not below "
                f"search.trials {trials}, so no trial is ever pruned; lower startup_trials"
            )
        return None


@PRUNERS.register
class Percentile(Median):
    type: Literal["percentile"] = "percentile"  # type: ignore[assignment]
    percentile: float = Field(25.0, gt=0, lt=100, description="the share of trials kept")

    def make(self, epochs: int) -> optuna.pruners.BasePruner:

        return optuna.pruners.PercentilePruner(
            self.percentile,
            n_startup_trials=self.startup_trials,
            n_warmup_steps=self.warmup_epochs,
        )

    def rule(self, metric: str, epochs: int) -> str:
        return (
            f"a trial stops when its {metric} is outside the best {self.percentile:g}% "
            f"{self._of_the_others}"
        )


__all__ = ["Median", "Percentile"]
