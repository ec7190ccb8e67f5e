"""A Gaussian-process sampler: Bayesian optimisation, suited to small budgets."""

from __future__ import annotations

from typing import Literal

import optuna

from search.samplers.base import SAMPLERS, ModelBased


@SAMPLERS.register
class GaussianProcess(ModelBased):
    type: Literal["gp"] = "gp"

    def make(self, seed: int, trials: int) -> optuna.samplers.BaseSampler:

        return optuna.samplers.GPSampler(
            n_startup_trials=self.startup(trials), seed=seed, warn_independent_sampling=False
        )


__all__ = ["GaussianProcess"]
