"""The starts by name (`STARTS`), and what a run adds to its study before the search."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from search.echo import Echo
from search.start.portfolio import enqueue_portfolio
from search.start.warm_start import WarmBatch, add_warm_starts, read_warm_starts, warm_to_add
from search.study.spec import StudySpec

if TYPE_CHECKING:
    import optuna


def _random(study: optuna.Study, spec: StudySpec, echo: Echo) -> None:
    """Nothing first: the sampler draws the first trials (at random until its startup ends)."""


STARTS: dict[str, Callable[[optuna.Study, StudySpec, Echo], None]] = {
    "portfolio": enqueue_portfolio,
    "random": _random,
}


def add_starts(study: optuna.Study, spec: StudySpec, warm: list[WarmBatch], echo: Echo) -> None:
    """Earlier studies' trials (`warm`, read by `read_warm_starts` before anything else), then
    the first trials of search.start."""
    add_warm_starts(study, warm, echo)
    STARTS[spec.search.start](study, spec, echo)


def starts_to_add(study: optuna.Study, spec: StudySpec) -> bool:
    """Something a rerun would still add before searching (an earlier study not added yet)."""
    return warm_to_add(study, spec)


__all__ = ["STARTS", "WarmBatch", "add_starts", "read_warm_starts", "starts_to_add"]
