"""CMA-ES: an evolution strategy over the continuous settings (pruned trials count too)."""

from __future__ import annotations

import warnings
from typing import Literal

import optuna

from search.samplers.base import SAMPLERS, ModelBased


@SAMPLERS.register
class CmaEs(ModelBased):
    type: Literal["cmaes"] = "cmaes"

    def make(self, seed: int, trials: int) -> optuna.samplers.BaseSampler:

        with warnings.catch_warnings():  # consider_pruned_trials is experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.CmaEsSampler(
                n_startup_trials=self.startup(trials),
                consider_pruned_trials=True,
                warn_independent_sampling=False,
                seed=seed,
            )


__all__ = ["CmaEs"]
