"""Settings that are valid but make pruning or batching do nothing: said in one warning line
each before the search (and by `hpsearch check`), never refused."""

from __future__ import annotations

from search.study.params import reachable
from search.study.spec import StudySpec


def pointless_settings(spec: StudySpec, train_images: int) -> list[str]:
    """One line for each setting of `spec` that does nothing here."""
    return [*_batching(spec, train_images), *_pruning(spec)]


def _batching(spec: StudySpec, train_images: int) -> list[str]:
    param = spec.space.get("batch_size")
    sizes = reachable(param) if param is not None else [spec.train_config().batch_size]
    largest = max(int(size) for size in sizes)
    if largest <= train_images:
        return []
    return [
        f"batch_size {largest} is larger than the training split ({train_images} images): "
        "such a trial takes one step an epoch, and batch sizes above it all train alike; "
        f"keep batch_size at most {train_images}"
    ]


def _pruning(spec: StudySpec) -> list[str]:
    pruner, epochs = spec.search.pruner, spec.budget.epochs
    if pruner.type == "none":
        return []
    if pruner.type in ("successive_halving", "hyperband"):
        first = max(1, pruner.warmup_epochs)  # the first rung
        if first >= epochs:
            return [
                f"pruner {pruner.type}: its first rung is at epoch {first} and trials train "
                f"{epochs}, and no trial is pruned at its last epoch, so it prunes nothing; "
                "let trials train longer (epochs), or set pruner: none"
            ]
        return []
    if pruner.warmup_epochs >= epochs:
        return [
            f"pruner {pruner.type}: warmup_epochs {pruner.warmup_epochs} leaves no epoch before "
            f"the last ({epochs}) to prune at; lower warmup_epochs, or set pruner: none"
        ]
    wanted = spec.search.trial_limit
    if wanted is not None and pruner.startup_trials >= wanted:
        return [
            f"pruner {pruner.type}: startup_trials {pruner.startup_trials} is not below "
            f"search.trials {wanted}, so no trial is ever pruned; lower startup_trials"
        ]
    return []


__all__ = ["pointless_settings"]
