"""Selections, by the names a study file uses (`search.select`): which trial is refitted.

`select: best` (the default) or `select: race`; a mapping of options alone is a race's. To add
one: a module here with a `Selection` subclass registered by `@SELECTIONS.register`, and its
import below.
"""

from __future__ import annotations

# Each module registers its selection when imported.
from search.selection import best, race  # noqa: F401
from search.selection.base import SELECTIONS, Section, Selection, ranked

SelectSpec = SELECTIONS.union("SelectSpec", default="race")  # a mapping alone: a race's options
DEFAULT_SELECTION = SELECTIONS["best"]()

__all__ = ["DEFAULT_SELECTION", "SELECTIONS", "Section", "SelectSpec", "Selection", "ranked"]
