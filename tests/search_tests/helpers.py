"""Helpers shared by the search tests: a tiny study, and a searcher and scheduler driven by hand."""

from __future__ import annotations

import importlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution

from search.rundir.layout import Summary

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


def benchmark_module(name: str) -> ModuleType:
    """A benchmark script, imported as a module (benchmarks/ is not a package)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


OUTCOME = re.compile(r"^trial +\d+ (COMPLETE|PRUNED|STOPPED|FAIL) ")


def outcome_lines(lines: list[str] | str) -> list[str]:
    """The progress lines that say how a trial ended (not its per-epoch lines)."""
    lines = lines.splitlines() if isinstance(lines, str) else lines
    return [line for line in lines if OUTCOME.match(line)]


def tiny_study(**overrides: Any) -> dict[str, Any]:
    """A study that runs in seconds: 16 px fake images, random-weight Lite0, 1-2 epochs."""
    raw: dict[str, Any] = {
        "name": "tiny",
        "data": {"source": "fake", "samples": 48, "classes": 3, "image_size": 16},
        "model": {"backbone": "efficientnet_lite0", "weights": "none"},
        "space": {
            "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
            "epochs": {"type": "int", "low": 1, "high": 2},
            "batch_size": {"type": "categorical", "choices": [16]},
        },
        "fixed": {},
        "search": {"trials": 3, "concurrency": 2, "pruner": "none"},
    }
    for key, value in overrides.items():
        other_source = key == "data" and value.get("source", "fake") != "fake"
        if (
            key not in ("space", "fixed")
            and isinstance(value, dict)
            and isinstance(raw.get(key), dict)
            and not other_source  # another source: a data section of its own
        ):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


SPACE = {
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "batch_size": CategoricalDistribution([16, 32]),
}


@dataclass
class FakeTrial:
    """What the scheduler reads of a Ray trial: its id, the error file in Ray's session folder,
    the trial's folder under the run directory (`path`) and the error file's name there."""

    trial_id: str
    error_file: str | None = None
    path: str | None = None
    run_metadata: Any = None


def make(
    pruner: optuna.pruners.BasePruner | None = None,
    target: int = 10,
    budget: int = 3,
    storage: str | None = None,
):
    """A study, a searcher and a scheduler sharing one registry, as the tuner wires them."""
    from search.engine.live_trials import LiveTrials
    from search.engine.scheduler import OptunaPruningScheduler
    from search.engine.searcher import OptunaSearcher

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage,
        pruner=pruner or optuna.pruners.NopPruner(),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    live = LiveTrials()
    finished: list[optuna.trial.FrozenTrial] = []
    searcher = OptunaSearcher(
        study,
        SPACE,
        live,
        metric="val_loss",
        target=target,
        failure_budget=budget,
        watch=_Finished(finished),
    )
    return study, searcher, OptunaPruningScheduler(live, "val_loss"), finished


@dataclass
class _Finished:
    """A watcher that keeps the trials the searcher told."""

    trials: list

    def started(self, trial) -> None:
        pass

    def epoch(self, trial, result) -> None:
        pass

    def finished(self, study, trial) -> None:
        self.trials.append(trial)


def epochs(scheduler, ray_id: str, values: list[float], searcher=None) -> list[str]:
    """Feed results as Ray does: scheduler first, the searcher only if the trial goes on."""
    from ray.tune.schedulers import TrialScheduler

    decisions = []
    for i, value in enumerate(values):
        result = {"val_loss": value, "train_loss": value / 2, "epoch": i + 1}
        decisions.append(scheduler.on_trial_result(None, FakeTrial(ray_id), result))
        if searcher is not None and decisions[-1] == TrialScheduler.CONTINUE:
            searcher.on_trial_result(ray_id, result)
    return decisions


def a_summary(best_trial: int) -> Summary:
    """A summary.json as a finished run of the tiny study writes it."""
    return Summary(
        classes=["a", "b"],
        image_size=16,
        images={"train": 8, "val": 2, "test": 2},
        study="tiny",
        metric="val_loss",
        direction="min",
        best_trial=best_trial,
        best_value=0.5,
        best_params={"lr": 0.01},
        trials={"COMPLETE": 4},
        refit_epochs=2,
        test={"loss": 0.4, "accuracy": 0.9, "macro_f1": 0.88},
        seconds={"search": 10.0, "refit": 2.0},
    )
