"""The selection base class: which of the search's trials is refitted (`search.select`).

Every selection starts from `ranked`: the search's complete trials within search.constraints,
best first, the one place "best" is decided (as scikit-learn's `_select_best_index`). A
selection may train some configurations again before it picks (`runs_before_pick`: the race);
those runs are trials of their own in the study, run on Ray by search/selection/race_runs.py.
Add one as a module of this package with a class registered by `@SELECTIONS.register`, and
one import line in `search/selection/__init__.py`.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from search.registry import PlugIn, Registry
from search.trials.serving import meets
from search.trials.states import complete_trials
from search.trials.values import minimizes

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


def ranked(study: optuna.Study, limits: dict[str, float]) -> list[FrozenTrial]:
    """The search's complete trials within `limits` (search.constraints), best first; of
    equal values, the earliest."""
    allowed = [t for t in complete_trials(study) if meets(t, limits)]
    sign = 1 if minimizes(study) else -1
    return sorted(allowed, key=lambda t: (sign * float(t.value), t.number))


@dataclass(frozen=True)
class Section:
    """A selection's table in report.html."""

    title: str
    text: str
    header: list[str]
    rows: list[tuple[str, ...]]


class Selection(PlugIn):
    registry: ClassVar[Registry] = Registry("select")
    runs_before_pick: ClassVar[bool] = False  # trains configurations again before it picks
    winner: ClassVar[str] = "the best"  # what its pick is called: 'trial 7 is still ...'

    @abstractmethod
    def describe(self) -> str:
        """What it refits, for the report's 'picks' row."""

    @abstractmethod
    def pick(self, study: optuna.Study, limits: dict[str, float]) -> FrozenTrial | None:
        """The trial to refit; None where no complete trial is within `limits`."""

    def to_do(self, study: optuna.Study, limits: dict[str, float]) -> bool:
        """Runs it still needs before it can pick (a rerun with nothing to do skips them)."""
        return False

    def summary(self, study: optuna.Study, limits: dict[str, float]) -> dict[str, Any]:
        """What summary.json keeps of how it picked (its `race`); empty where nothing."""
        return {}

    def section(self, study: optuna.Study, limits: dict[str, float]) -> Section | None:
        """Its table in report.html, where it has one."""
        return None


SELECTIONS = Selection.registry

__all__ = ["SELECTIONS", "Section", "Selection", "ranked"]
