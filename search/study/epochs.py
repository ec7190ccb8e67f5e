"""The epochs a trial trains, and how many it stands for (`StudySpec.trial_epochs`).

When a study searches `epochs`, the number is not sampled. Every trial trains with its
learning-rate schedule spanning the space's highest value (`epochs`), so that two trials at
the same epoch sit at the same point of the same schedule and the pruner compares like with
like. The number of epochs a trial stands for is read off its validation curve: the best epoch
among the values the space allows. The refit replays that epoch on the same schedule.

A study that holds `epochs` fixed trains every trial for that many; its value is the last epoch
it ran (early stopping may end it sooner), as a person training it by hand would get.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from search.study.params import CategoricalParam, IntParam, Param
from trainable import TrainConfig


@dataclass(frozen=True)
class TrialEpochs:
    epochs: int  # the most epochs a trial trains; its schedule spans them
    choices: tuple[int, ...]  # the epoch counts a trial's curve may choose, ascending
    searched: bool  # epochs is in space: (else held in fixed: or by default)

    @classmethod
    def of(cls, param: Param | None, held: int) -> TrialEpochs:
        """The trial epochs of a study whose space has `param` for epochs (None: not searched, every
        trial trains `held`)."""
        if isinstance(param, IntParam):
            choices = tuple(range(param.low, param.high + 1, param.step))
            return cls(epochs=choices[-1], choices=choices, searched=True)
        if isinstance(param, CategoricalParam):
            choices = tuple(sorted(int(c) for c in param.choices))  # type: ignore[arg-type]
            return cls(epochs=choices[-1], choices=choices, searched=True)
        return cls(epochs=held, choices=(held,), searched=False)

    def trial_config(self, params: dict[str, Any]) -> dict[str, Any]:
        """The config a trial trains with: its sampled parameters, over all its epochs."""
        return {**params, "epochs": self.epochs} if self.searched else dict(params)

    def choose(self, curve: dict[int, float], minimize: bool) -> tuple[int, float] | None:
        """(epochs, value) a trial stands for, from its per-epoch metric; None if empty.

        Searched: the best finite value at an epoch the space allows, the earliest on a tie
        (a trial stopped early before the smallest allowed epoch offers its last epoch).
        Held: the last epoch the trial ran.
        """
        if not curve:
            return None
        last = max(curve)
        if not self.searched:
            return last, curve[last]
        allowed = [e for e in self.choices if e in curve and math.isfinite(curve[e])]
        if not allowed:
            return last, curve[last]
        sign = 1 if minimize else -1
        best = min(allowed, key=lambda e: (sign * curve[e], e))
        return best, curve[best]

    def replay(self, config: TrainConfig, epochs: int) -> TrainConfig:
        """`config` trained for `epochs` epochs along the schedule its trial followed."""

        horizon = config.horizon
        values = config.model_dump()
        values["epochs"] = epochs
        values["schedule_epochs"] = horizon if horizon != epochs else None
        return TrainConfig(**values)
