"""Samplers, by the names a study file uses (`search.sampler`): one module a sampler.

To add one: a module here with a `Sampler` subclass registered by `@SAMPLERS.register`, and its
import below; the study file's allowed names and option checks come from the registry.
"""

from __future__ import annotations

# Each module registers its sampler when imported.
from search.samplers import cma_es, gaussian_process, quasi_random, random_search, tpe  # noqa: F401
from search.samplers.base import SAMPLERS, Sampler

SamplerSpec = SAMPLERS.union("SamplerSpec", default="tpe")
DEFAULT_SAMPLER = SAMPLERS["tpe"]()

__all__ = ["DEFAULT_SAMPLER", "SAMPLERS", "Sampler", "SamplerSpec"]
