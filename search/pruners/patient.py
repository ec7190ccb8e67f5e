"""The patient pruner: a trial stops once its metric has stayed worse than its best so far for
more than `patience` epochs (early stopping decided by the search); with `wrapped`, only where
that pruner says so too."""

from __future__ import annotations

import warnings
from typing import Literal

import optuna
from pydantic import Field

from search.pruners.base import PRUNERS, Pruner


@PRUNERS.register
class Patient(Pruner):
    type: Literal["patient"] = "patient"
    patience: int = Field(2, ge=0, description="epochs without improvement it lets pass")
    min_delta: float = Field(0.0, ge=0, description="a worsening within it counts as none")
    # PrunerSpec, any registered pruner, is given when the registry builds it (Registry.union).
    wrapped: PrunerSpec | None = Field(None, description="a pruner that must agree, e.g. median")  # noqa: F821

    @property
    def compares_trials(self) -> bool:  # type: ignore[override]
        return self.wrapped is not None and self.wrapped.compares_trials

    def make(self, epochs: int) -> optuna.pruners.BasePruner:

        inner = self.wrapped.make(epochs) if self.wrapped is not None else None
        with warnings.catch_warnings():  # PatientPruner is marked experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.PatientPruner(inner, self.patience, self.min_delta)

    def rungs(self, epochs: int) -> list[int]:
        return self.wrapped.rungs(epochs) if self.wrapped is not None else []

    def rule(self, metric: str, epochs: int) -> str:
        by = f" by more than {self.min_delta:g}" if self.min_delta else ""
        rule = (
            f"a trial stops when its {metric} has stayed worse than its best so far{by} for "
            f"more than {self.patience} epochs"
        )
        if self.wrapped is None:
            return rule
        agrees = self.wrapped.rule(metric, epochs)
        return f"{rule} and the {self.wrapped.type} pruner agrees ({agrees})"

    def idle(self, epochs: int, trials: int | None) -> str | None:
        # Optuna's PatientPruner decides from epoch patience + 2; none is pruned at its last.
        if self.patience + 2 < epochs:
            return self.wrapped.idle(epochs, trials) if self.wrapped is not None else None
        return (
            f"pruner {self.type}: patience {self.patience} waits past the last epoch ({epochs}) "
            "before it can prune; lower patience, or let trials train longer (epochs)"
        )


__all__ = ["Patient"]
