"""`search.budget`: when the search stops, in the units people plan in, one module a limit
(trials, epochs, minutes, GPU-hours). The search stops at the first limit reached; what it has
spent is kept in the storage as it goes, so a resumed run goes on from it (spend.py).
"""

from __future__ import annotations

from search.budget.base import Limit, Pace, Spent
from search.budget.limits import DEFAULT_TRIALS, LIMITS, BudgetSpec, spent_line
from search.budget.spend import Spend

__all__ = [
    "DEFAULT_TRIALS",
    "LIMITS",
    "BudgetSpec",
    "Limit",
    "Pace",
    "Spend",
    "Spent",
    "spent_line",
]
