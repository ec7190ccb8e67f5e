"""`search.budget.gpu_hours`: GPU time summed over trials; a trial on a quarter of a GPU for an
hour spends 0.25."""

from __future__ import annotations

from search.budget.base import Limit, Spent


class GpuHours(Limit):
    name = "gpu_hours"
    unit = "GPU-hours"
    description = "GPU time summed over trials"
    quiet_at_zero = True  # trials on CPUs spend none: not worth a word

    def spent(self, spent: Spent) -> float | None:
        return round(spent.gpu_seconds / 3600, 4)


__all__ = ["GpuHours"]
