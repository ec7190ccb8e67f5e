"""What a search has spent of `search.budget`, and which limit it reached first.

Epochs are counted as trials report them (and, on resume, read off the storage: every epoch a
trial ran is an intermediate value there). Minutes are the search's wall-clock time and
GPU-hours the GPU time of its trials (a trial's share of a GPU times its running time); both
are kept in the study's user attr `budget_spent` as the search goes, so a run that resumes,
after Ctrl-C or a kill -9, goes on from what the earlier ones spent. The search's trial count
is the searcher's own (search/engine/searcher.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from search.budget.base import Spent
from search.budget.limits import LIMITS, BudgetSpec
from search.trials.attrs import BUDGET_SPENT
from search.trials.states import search_trials

if TYPE_CHECKING:
    import optuna

SAVE_EVERY = 10.0  # seconds between saves while nothing else is written


class Spend:
    def __init__(self, study: optuna.Study, stop: BudgetSpec, gpus_per_trial: float) -> None:
        self.study, self.stop, self.gpus = study, stop, float(gpus_per_trial)
        earlier = study.user_attrs.get(BUDGET_SPENT, {})
        self._seconds_before = float(earlier.get("seconds", 0.0))
        self.gpu_seconds = float(earlier.get("gpu_seconds", 0.0))
        self.epochs = sum(len(t.intermediate_values) for t in search_trials(study))
        self._started = time.monotonic()
        self._saved = self._started
        self.stopped_by: str | None = None  # the first limit reached, once it is

    def __getstate__(self) -> dict[str, Any]:
        """Ray pickles its callbacks into ray/tuner.pkl: without the study, whose storage URL
        may hold a password."""
        return {k: v for k, v in self.__dict__.items() if k != "study"}

    @property
    def seconds(self) -> float:
        return self._seconds_before + time.monotonic() - self._started

    def epoch(self, result: dict[str, Any]) -> None:
        """A search trial reported an epoch; `time_this_iter_s` is Ray's time since its last
        report (its start, for the first): the time it held its GPU share for it."""
        self.epochs += 1
        self.gpu_seconds += self.gpus * float(result.get("time_this_iter_s") or 0.0)
        self.save()

    def reached(self, finished: int | None = None) -> str | None:
        """The first limit reached, in LIMITS' order; `finished`: the finished trials (the
        trials limit is checked only when given). Kept once found: the stop's reason."""
        if self.stopped_by is not None:
            return self.stopped_by
        spent = self.spent(finished)
        for name, bound in self.stop.limits.items():
            used = LIMITS[name].spent(spent)
            if used is not None and used >= bound:
                self.stopped_by = name
                self.save()
                return name
        return None

    def spent(self, finished: int | None = None) -> Spent:
        return Spent(finished, self.epochs, self.seconds, self.gpu_seconds)

    def figures(self, finished: int | None = None) -> dict[str, float]:
        """What was spent of each limit (trials where known), as summary.json keeps it."""
        spent = self.spent(finished)
        figures = {name: limit.spent(spent) for name, limit in LIMITS.items()}
        return {name: value for name, value in figures.items() if value is not None}

    def tick(self) -> None:
        """Called often by Ray's loop: the time spent, saved every SAVE_EVERY seconds."""
        if time.monotonic() - self._saved >= SAVE_EVERY:
            self.save()

    def save(self) -> None:
        self._saved = time.monotonic()
        self.study.set_user_attr(
            BUDGET_SPENT,
            {"seconds": round(self.seconds, 1), "gpu_seconds": round(self.gpu_seconds, 1)},
        )

    def summary(self, finished: int) -> dict[str, Any]:
        """summary.json's `budget`: the limits, what was spent of each, what stopped it."""
        reached = self.reached(finished)
        spent = self.figures(finished)
        return {"limits": dict(self.stop.limits), "spent": spent, "stopped_by": reached}


__all__ = ["Spend"]
