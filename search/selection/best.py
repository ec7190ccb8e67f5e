"""`search.select: best` (the default): the single best trial of the search is refitted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from search.selection.base import SELECTIONS, Selection, ranked

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


@SELECTIONS.register
class Best(Selection):
    type: Literal["best"] = "best"

    def describe(self) -> str:
        return "the single best trial"

    def pick(self, study: optuna.Study, limits: dict[str, float]) -> FrozenTrial | None:
        candidates = ranked(study, limits)
        return candidates[0] if candidates else None


__all__ = ["Best"]
