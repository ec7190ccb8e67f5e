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
    idle = spec.search.pruner.idle(spec.trial_epochs.epochs, spec.search.trial_limit)
    return [idle] if idle else []


__all__ = ["pointless_settings"]
