"""Random search: every configuration drawn independently, uniformly over the space."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from search.samplers.base import SAMPLERS, Sampler

if TYPE_CHECKING:
    import optuna


@SAMPLERS.register
class RandomSearch(Sampler):
    type: Literal["random"] = "random"

    def make(self, seed: int, trials: int) -> optuna.samplers.BaseSampler:
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)


__all__ = ["RandomSearch"]
