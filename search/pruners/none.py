"""No pruner: every trial trains its whole budget."""

from __future__ import annotations

from typing import Literal

import optuna

from search.pruners.base import PRUNERS, Pruner


@PRUNERS.register
class NoPruner(Pruner):
    type: Literal["none"] = "none"

    def make(self, epochs: int) -> optuna.pruners.BasePruner:

        return optuna.pruners.NopPruner()

    def rule(self, metric: str, epochs: int) -> str:
        return "none; every trial trains its whole budget"


__all__ = ["NoPruner"]
