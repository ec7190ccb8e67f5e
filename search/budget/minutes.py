"""`search.budget.minutes`: the search's wall-clock time, earlier runs' included."""

from __future__ import annotations

from search.budget.base import Limit, Pace, Spent


class Minutes(Limit):
    name = "minutes"
    unit = "minutes"
    description = "the search's wall-clock time"

    def spent(self, spent: Spent) -> float | None:
        return round(spent.seconds / 60, 2)

    def seconds_left(self, limit: float, spent: Spent, pace: Pace) -> float | None:
        return max(0.0, limit * 60 - spent.seconds)


__all__ = ["Minutes"]
