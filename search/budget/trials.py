"""`search.budget.trials`: finished (complete or pruned) trials; `search.trials` alone is this."""

from __future__ import annotations

from search.budget.base import Limit, Pace, Spent


class Trials(Limit):
    name = "trials"
    unit = "trials"
    description = "finished (complete or pruned) trials"
    whole = True

    def spent(self, spent: Spent) -> float | None:
        return spent.trials

    def seconds_left(self, limit: float, spent: Spent, pace: Pace) -> float | None:
        if spent.trials is None:
            return None
        unstarted = max(0.0, limit - spent.trials - pace.running)
        epochs = unstarted * pace.trial_epochs + pace.running_epochs_left
        return epochs * pace.epoch_seconds / pace.concurrency


__all__ = ["Trials"]
