"""What pruning did: epochs trained against an unpruned search of the same trials, and the
rule that stopped the others, in words a person reads in the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from search.trials.states import is_pruned

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from search.study.spec import StudySpec


@dataclass(frozen=True)
class PruningSavings:
    trained: int  # epochs the trials ran
    unpruned: int  # epochs the same trials would have run, none stopped by the pruner

    @property
    def saved(self) -> int:
        return self.unpruned - self.trained

    def __str__(self) -> str:
        share = f" ({self.saved / self.unpruned:.0%})" if self.unpruned else ""
        return (
            f"{self.trained} of the {self.unpruned} an unpruned search of these trials would "
            f"train; pruning saved {self.saved}{share}"
        )


def pruning_savings(spec: StudySpec, trials: list[FrozenTrial]) -> PruningSavings:
    """A pruned trial would have trained the whole budget; every other trial counts as it ran
    (early stopping and failures end trials without the pruner)."""
    budget = spec.trial_epochs.epochs
    ran = [len(t.intermediate_values) for t in trials]
    return PruningSavings(
        trained=sum(ran),
        unpruned=sum(
            max(n, budget) if is_pruned(t) else n for t, n in zip(trials, ran, strict=True)
        ),
    )


def pruning_rule(spec: StudySpec) -> str:
    """One paragraph: when the study's pruner stops a trial."""
    pruner, budget = spec.search.pruner, spec.trial_epochs
    rule = pruner.rule(spec.search.metric, budget.epochs)
    horizon = (
        f"Every trial's learning-rate schedule spans {budget.epochs} epochs, so trials are "
        "compared at the same point of the same schedule. "
        if budget.searched
        else ""
    )
    return f"{horizon}Pruner {pruner.type}: {rule}. No trial is pruned at its last epoch."
