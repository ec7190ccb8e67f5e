"""Random search: every configuration drawn independently, uniformly over the space."""

from __future__ import annotations

from typing import Literal

import optuna

from search.samplers.base import SAMPLERS, Sampler


@SAMPLERS.register
class RandomSearch(Sampler):
    type: Literal["random"] = "random"

    def make(self, seed: int, trials: int) -> optuna.samplers.BaseSampler:

        return optuna.samplers.RandomSampler(seed=seed)


__all__ = ["RandomSearch"]
