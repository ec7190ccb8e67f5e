"""TPE, Optuna's default sampler: a model of good against bad configurations."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import optuna

from search.samplers.base import SAMPLERS, ModelBased


@SAMPLERS.register
class TPE(ModelBased):
    type: Literal["tpe"] = "tpe"

    def options(self, seed: int, trials: int) -> dict[str, Any]:
        # multivariate models interactions (lr x batch size); constant liar keeps parallel
        # trials from being sent to the same point while their results are pending.
        return {
            "n_startup_trials": self.startup(trials),
            "multivariate": True,
            "constant_liar": True,
            "seed": seed,
        }

    def make(self, seed: int, trials: int) -> optuna.samplers.BaseSampler:

        with warnings.catch_warnings():  # multivariate and constant_liar are experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(**self.options(seed, trials))


__all__ = ["TPE"]
