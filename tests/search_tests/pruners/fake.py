"""Pruners fed fake per-epoch results, without Ray: an in-memory Optuna study."""

from __future__ import annotations

import optuna

from search.pruners import Pruner


def pruned_at(pruner: Pruner, curve: list[float], epochs: int, others: list[list[float]] = ()):
    """The first epoch at which `pruner` stops a trial with `curve` (None: never), after the
    `others` finished with theirs; no trial is asked at its last epoch, as the scheduler does."""
    study = optuna.create_study(direction="minimize", pruner=pruner.make(epochs))
    for values in others:
        trial = study.ask()
        for epoch, value in enumerate(values, start=1):
            trial.report(value, epoch)
        study.tell(trial, values[-1])
    trial = study.ask()
    for epoch, value in enumerate(curve, start=1):
        trial.report(value, epoch)
        if epoch < epochs and trial.should_prune():
            return epoch
    return None
