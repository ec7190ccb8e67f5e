"""No pruner: every trial trains its whole budget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from search.pruners.base import PRUNERS, Pruner

if TYPE_CHECKING:
    import optuna


@PRUNERS.register
class NoPruner(Pruner):
    type: Literal["none"] = "none"

    def make(self, epochs: int) -> optuna.pruners.BasePruner:
        import optuna

        return optuna.pruners.NopPruner()

    def rule(self, metric: str, epochs: int) -> str:
        return "none; every trial trains its whole budget"


__all__ = ["NoPruner"]
