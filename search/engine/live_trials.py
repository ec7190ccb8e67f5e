"""What the driver knows of each running trial beyond the storage: the one piece of state the
searcher and the scheduler share. It lives in the driver, keyed by Ray trial id, and each
record leaves when its trial ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna


@dataclass
class LiveTrial:
    trial: optuna.trial.Trial  # the Optuna trial the Ray trial runs
    curves: list[dict[str, float]] = field(default_factory=list)  # written once, at its end
    placed: bool = False  # its node and GPUs are recorded on the Optuna trial
    pruned: bool = False  # the scheduler stopped it
    stopped: str | None = None  # the search.budget limit that stopped it (minutes, ...)
    error: str | None = None  # the exception line of a trial that raised (Ray tells only that)


class LiveTrials:
    """Ray trial id -> LiveTrial."""

    def __init__(self) -> None:
        self._running: dict[str, LiveTrial] = {}

    def __len__(self) -> int:
        return len(self._running)

    def start(self, ray_id: str, trial: optuna.trial.Trial) -> LiveTrial:
        self._running[ray_id] = LiveTrial(trial)
        return self._running[ray_id]

    def get(self, ray_id: str) -> LiveTrial | None:
        return self._running.get(ray_id)

    def end(self, ray_id: str) -> LiveTrial | None:
        """The trial's record, no longer kept; None for a trial this driver never started."""
        return self._running.pop(ray_id, None)
