"""A Ray Tune scheduler that asks the Optuna pruner, after every epoch, whether to stop a trial.

It holds no state of its own: each result is reported to the Optuna trial (so every epoch a
trial ran, the pruning epoch included, is an intermediate value in the storage) and the pruner
decides from the storage. Pruning therefore survives a restart of the search.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from search.budget import Spend
from search.engine.live_trials import LiveTrials
from search.engine.searcher import HOLD_THE_STUDY


class OptunaPruningScheduler(FIFOScheduler):
    """`epochs`: the most a trial may train; a trial that has trained them all is done, and
    is never pruned at its last epoch (it would be told PRUNED having spent everything).
    `prunes=False` (the race): every epoch is recorded, no trial is stopped. `spend`: each
    epoch counts towards search.budget, and once a limit is reached every running trial
    stops at the end of its epoch."""

    def __init__(
        self,
        live: LiveTrials,
        metric: str,
        epochs: int | None = None,
        *,
        prunes: bool = True,
        spend: Spend | None = None,
    ) -> None:
        super().__init__()
        self.live, self.metric_name, self.epochs, self.prunes = live, metric, epochs, prunes
        self.spend = spend

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        live = self.live.get(trial.trial_id)
        value, epoch = result.get(self.metric_name), result.get("epoch")
        if live is None or value is None or epoch is None:
            return TrialScheduler.CONTINUE
        if self.spend is not None:
            self.spend.epoch(result)
        if not math.isfinite(value):  # the trainable raises DivergedError on its own
            return TrialScheduler.CONTINUE
        live.trial.report(float(value), int(epoch))
        if not self.prunes or (self.epochs is not None and epoch >= self.epochs):
            return TrialScheduler.CONTINUE  # the trial ends by itself now
        if live.trial.should_prune():
            live.pruned = True
            return TrialScheduler.STOP
        spent = self.spend.reached() if self.spend is not None else None
        if spent is not None:  # search.budget: it ends with the epoch it just finished
            live.stopped = spent
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def __getstate__(self) -> dict[str, Any]:
        """Pickled into ray/tuner.pkl without what holds the study (see the searcher's)."""
        return {k: v for k, v in self.__dict__.items() if k not in HOLD_THE_STUDY}

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        """Keep the reason for the searcher, which Ray tells only that there was an error."""
        live = self.live.get(trial.trial_id)
        if live is not None:
            live.error = _error_of(trial) or "the trial's worker died"
        super().on_trial_error(tune_controller, trial)


def _error_of(trial: Any) -> str:
    """The exception line of the traceback Ray wrote for the trial, and where the run
    directory keeps that traceback (Ray writes it first in its temporary session folder,
    then copies it under the run directory's ray/, which outlives the session)."""
    path = Path(trial.error_file) if trial.error_file else None
    if path is None or not path.is_file():
        return ""
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    lines = [line for line in lines if line and not line.startswith("Failure #")]
    name = getattr(getattr(trial, "run_metadata", None), "error_filename", None)
    folder = getattr(trial, "path", None)
    kept = Path(folder, name) if folder and name else path
    return f"{lines[-1]} (traceback: {kept})" if lines else ""
