"""The pruner base class: when a trial stops before its last epoch.

A pruner is its study-file settings (`search.pruner: {type: NAME, ...}`), the Optuna pruner it
builds, and what it tells a person: the rule in the report, a warning where it can prune
nothing. Add one as a module of this package with a class registered by `@PRUNERS.register`,
and one import line in `search/pruners/__init__.py`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

from search.registry import PlugIn, Registry

if TYPE_CHECKING:
    import optuna


class Pruner(PlugIn):
    registry: ClassVar[Registry] = Registry("pruner")
    # True where the pruner compares a trial with the other trials' values at the same epoch
    # (the median, a percentile): warm-start trials, which have no curve, are hidden from it.
    compares_trials: ClassVar[bool] = False

    @abstractmethod
    def make(self, epochs: int) -> optuna.pruners.BasePruner:
        """The Optuna pruner, for trials that train `epochs` at most."""

    @abstractmethod
    def rule(self, metric: str, epochs: int) -> str:
        """When it stops a trial, as a clause of a sentence ('a trial stops when ...')."""

    def rungs(self, epochs: int) -> list[int]:
        """The epochs at which it decides, where it decides at fixed ones (else none)."""
        return []

    def idle(self, epochs: int, trials: int | None) -> str | None:
        """Why it can prune nothing in a study of `trials` trials of `epochs` epochs, and how
        to fix it; None where it can prune."""
        return None


PRUNERS = Pruner.registry

__all__ = ["PRUNERS", "Pruner"]
