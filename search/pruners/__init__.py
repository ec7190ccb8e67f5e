"""Pruners, by the names a study file uses (`search.pruner`): one module a pruner.

To add one: a module here with a `Pruner` subclass registered by `@PRUNERS.register`, and its
import below. The study file's allowed names, its option checks, the report's rule and the
warnings before a search all come from the registered class.
"""

from __future__ import annotations

# Each module registers its pruners when imported.
from search.pruners import halving, none, patient, percentile, threshold  # noqa: F401
from search.pruners.base import PRUNERS, Pruner

PrunerSpec = PRUNERS.union("PrunerSpec", default="successive_halving")
DEFAULT_PRUNER = PRUNERS["successive_halving"]()

__all__ = ["DEFAULT_PRUNER", "PRUNERS", "Pruner", "PrunerSpec"]
