"""The limit base class: one way `search.budget` stops a search (trials, epochs, minutes, ...).

A limit is a key of `search.budget` with a number: what it counts (`spent`, from the figures
search/budget/spend.py keeps), how lines name it, and how long the search has left before it
is reached (`seconds_left`, for the live view's estimate). Add one as a module of this package
and one entry in `LIMITS` (search/budget/limits.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Spent:
    """What a search has spent so far."""

    trials: int | None  # finished trials, where known
    epochs: int  # epochs trained, summed over trials
    seconds: float  # the search's wall-clock time, earlier runs' included
    gpu_seconds: float  # GPU time summed over trials (a trial's share times its running time)


@dataclass(frozen=True)
class Pace:
    """How fast the search goes, for an estimate of the time left."""

    trial_epochs: float  # epochs a finished trial trained, on average
    epoch_seconds: float  # seconds an epoch takes, on average
    concurrency: int  # trials at once
    running: int  # trials running now
    running_epochs_left: float  # what the running trials have left, at the average


class Limit(ABC):
    name: ClassVar[str]  # its key in search.budget
    unit: ClassVar[str]  # how lines name it: 'minutes', 'GPU-hours'
    description: ClassVar[str]  # what it counts, for the study-file reference
    whole: ClassVar[bool] = False  # a count: the study file gives a whole number
    quiet_at_zero: ClassVar[bool] = False  # lines leave it out while it is no limit and nil

    @abstractmethod
    def spent(self, spent: Spent) -> float | None:
        """What the search has spent of it; None where not known (trials, mid-search)."""

    def seconds_left(self, limit: float, spent: Spent, pace: Pace) -> float | None:
        """The search's time left before it reaches `limit`; None where it cannot tell."""
        return None

    def shown(self, value: float) -> str:
        """'12 trials', '1 minute'."""
        unit = self.unit[:-1] if value == 1 and self.unit.endswith("s") else self.unit
        return f"{value:g} {unit}"


__all__ = ["Limit", "Pace", "Spent"]
