"""The sampler base class: how each trial's configuration is drawn.

A sampler is its study-file settings (`search.sampler: {type: NAME, ...}`) and the Optuna
sampler it builds. Add one as a module of this package with a class registered by
`@SAMPLERS.register`, and one import line in `search/samplers/__init__.py`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from search.registry import PlugIn, Registry

if TYPE_CHECKING:
    import optuna


class Sampler(PlugIn):
    registry: ClassVar[Registry] = Registry("sampler")

    @abstractmethod
    def make(self, seed: int, trials: int) -> optuna.samplers.BaseSampler:
        """The Optuna sampler for a search of about `trials` trials;
        `seed` differs from search.seed on a resumed study, so a restart draws new points."""


class ModelBased(Sampler):
    """A sampler that draws at random for its first trials, then from a model of the results."""

    # Random trials before the model takes over; null: a quarter of the trials, between 2 and
    # 10 (Optuna's fixed 10 would leave a 12-trial study nearly random).
    startup_trials: int | None = Field(None, ge=0)

    def startup(self, trials: int) -> int:
        if self.startup_trials is not None:
            return self.startup_trials
        return min(10, max(2, trials // 4))


SAMPLERS = Sampler.registry

__all__ = ["SAMPLERS", "ModelBased", "Sampler"]
