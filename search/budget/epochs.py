"""`search.budget.epochs`: epochs trained, summed over trials (what pruning saves)."""

from __future__ import annotations

from search.budget.base import Limit, Pace, Spent


class Epochs(Limit):
    name = "epochs"
    unit = "epochs"
    description = "epochs trained, summed over trials"
    whole = True

    def spent(self, spent: Spent) -> float | None:
        return spent.epochs

    def seconds_left(self, limit: float, spent: Spent, pace: Pace) -> float | None:
        return max(0.0, limit - spent.epochs) * pace.epoch_seconds / pace.concurrency


__all__ = ["Epochs"]
