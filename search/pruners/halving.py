"""Successive halving and Hyperband: at fixed epochs (rungs), only the best share of the trials
that reached a rung goes on. Successive halving is the default: on the quickstart and a
real-photo study it matched the unpruned search's test accuracy on 33-65% of its epochs, where
the median pruner needed 53-71% (benchmarks/search_quality.py)."""

from __future__ import annotations

from typing import Literal

import optuna
from pydantic import Field

from search.pruners.base import PRUNERS, Pruner


@PRUNERS.register
class SuccessiveHalving(Pruner):
    type: Literal["successive_halving"] = "successive_halving"
    warmup_epochs: int = Field(0, ge=0, description="the first rung, at least epoch 1")
    reduction_factor: int = Field(3, ge=2, description="1/reduction_factor go on at each rung")

    @property
    def first_rung(self) -> int:
        return max(1, self.warmup_epochs)

    def make(self, epochs: int) -> optuna.pruners.BasePruner:

        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=self.first_rung, reduction_factor=self.reduction_factor
        )

    def rungs(self, epochs: int) -> list[int]:
        rungs, epoch = [], self.first_rung
        while epoch < epochs:
            rungs.append(epoch)
            epoch *= self.reduction_factor
        return rungs

    def rule(self, metric: str, epochs: int) -> str:
        rungs = self.rungs(epochs)
        at = f"epoch{'s' * (len(rungs) != 1)} {', '.join(str(e) for e in rungs) or 'none'}"
        return (
            f"at {at}, a trial goes on only if it is among the best "
            f"1/{self.reduction_factor} of the trials that reached that epoch"
        )

    def idle(self, epochs: int, trials: int | None) -> str | None:
        if self.first_rung < epochs:
            return None
        return (
            f"pruner {self.type}: its first rung is at epoch {self.first_rung} and trials train "
            f"{epochs}, and no trial is pruned at its last epoch, so it prunes nothing; "
            "let trials train longer (epochs), or set pruner: none"
        )


@PRUNERS.register
class Hyperband(SuccessiveHalving):
    type: Literal["hyperband"] = "hyperband"  # type: ignore[assignment]

    def make(self, epochs: int) -> optuna.pruners.BasePruner:

        return optuna.pruners.HyperbandPruner(
            min_resource=self.first_rung,
            max_resource=epochs,
            reduction_factor=self.reduction_factor,
        )

    def rungs(self, epochs: int) -> list[int]:
        return []  # each bracket has rungs of its own

    def rule(self, metric: str, epochs: int) -> str:
        return (
            f"successive halving in several brackets, by a factor of "
            f"{self.reduction_factor}, up to epoch {epochs}"
        )


__all__ = ["Hyperband", "SuccessiveHalving"]
