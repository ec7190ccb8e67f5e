"""Quasi-random search (scrambled Sobol points): spread over the space more evenly than random."""

from __future__ import annotations

import warnings
from typing import Literal

import optuna

from search.samplers.base import SAMPLERS, Sampler


@SAMPLERS.register
class QuasiRandom(Sampler):
    type: Literal["qmc"] = "qmc"

    def make(self, seed: int, trials: int) -> optuna.samplers.BaseSampler:

        with warnings.catch_warnings():  # QMCSampler is experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(
                seed=seed, scramble=True, warn_independent_sampling=False
            )


__all__ = ["QuasiRandom"]
