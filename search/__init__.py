"""The search service: study files, Ray Tune + Optuna wiring, refit, results and the CLI.

Other pipelines import a finished search with

    from search import load_best
    best = load_best("runs/digits-quickstart")
    model = best.load_model()          # refit weights, eval mode
    best.config                        # the TrainConfig the search chose
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from search.errors import HPSearchError, StudySpecError
from search.rundir.results import BestConfig, load_best
from search.study.spec import StudySpec, load_study_spec

try:
    __version__ = version("hpsearch")  # pyproject.toml's, the one place it is written
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "BestConfig",
    "HPSearchError",
    "StudySpec",
    "StudySpecError",
    "load_best",
    "load_study_spec",
]
