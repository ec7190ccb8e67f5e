"""Ray Tune wiring: run trials until the Optuna study holds `search.trials` finished ones.

A resumed run builds a fresh Tuner over the same Optuna study: the storage is the truth, and
Ray's experiment state, which lags it, is never restored.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from search.budget import Spend
from search.engine.live_trials import LiveTrials
from search.engine.objective import objective
from search.engine.optuna_study import OpenStudy, fail_interrupted
from search.engine.scheduler import OptunaPruningScheduler
from search.engine.searcher import OptunaSearcher, Watcher
from search.study.space import distributions
from search.study.spec import StudySpec

if TYPE_CHECKING:
    from ray import ObjectRef, tune

    from search.engine.serving import Serving
    from trainable import Splits


@dataclass(frozen=True)
class SearchOutcome:
    finished: int  # complete + pruned, in the whole study
    failed: int  # failed by themselves (interrupted ones excluded)
    over_failure_budget: bool
    interrupted: list[int]  # trials that were running when the search stopped early
    budget: dict[str, Any]  # search.budget: its limits, what was spent, what stopped it


def run_search(
    spec: StudySpec,
    run_dir: Path,
    splits: Splits | ObjectRef,
    opened: OpenStudy,
    *,
    watch: Watcher | None = None,
    verbose: bool = False,
    serving: Serving | None = None,
) -> SearchOutcome:
    """Run trials until the study holds `search.trials` finished ones (or too many failed).

    Trials still running when Ray stops (Ctrl-C) are told FAIL as interrupted and reported.
    """

    fail_interrupted(opened)  # left RUNNING by a run that was killed
    live = LiveTrials()
    spend = Spend(opened.study, spec.search.stop, float(spec.resources.gpus_per_trial))
    searcher = OptunaSearcher(
        opened.study,
        distributions(spec),
        live,
        metric=spec.search.metric,
        target=spec.search.trial_limit,
        failure_budget=spec.search.failure_budget,
        retries=spec.search.retries,
        trial_epochs=spec.trial_epochs,
        watch=watch,
        serving=serving,
        spend=spend,
    )
    try:
        if not searcher.done and not searcher.over_failure_budget:
            tuner = tuner_for(spec, run_dir, splits, searcher, live, verbose, spend=spend)
            fit_quietly(tuner, verbose)
    finally:
        spend.save()  # what this run spent, interrupted or not
    return SearchOutcome(
        finished=searcher.finished,
        failed=searcher.failed,
        over_failure_budget=searcher.over_failure_budget,
        interrupted=fail_interrupted(opened),
        budget=spend.summary(searcher.finished),
    )


def tuner_for(
    spec: StudySpec,
    run_dir: Path,
    splits: Splits | ObjectRef,
    searcher: OptunaSearcher,
    live: LiveTrials,
    verbose: bool,
    *,
    race: bool = False,
    spend: Spend | None = None,
) -> tune.Tuner:
    """The search's Tuner; `race`: the race's (its runs never pruned); `spend`: what the
    search's trials spend of search.budget."""
    from ray import tune

    resources = {"cpu": spec.resources.cpus_per_trial, "gpu": spec.resources.gpus_per_trial}
    trainable = tune.with_resources(
        tune.with_parameters(objective, splits=splits, spec=spec), resources
    )
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=OptunaPruningScheduler(
                live,
                spec.search.metric,
                epochs=spec.trial_epochs.epochs,
                prunes=not race,
                spend=spend,
            ),
            num_samples=-1,  # the searcher says when the study is done
            max_concurrent_trials=spec.search.concurrency,
            reuse_actors=True,  # ~5x less overhead per short trial
        ),
        run_config=tune.RunConfig(
            name="ray-race" if race else "ray",
            storage_path=str(run_dir.resolve()),
            verbose=2 if verbose else 0,
            failure_config=tune.FailureConfig(max_failures=0),
            callbacks=[] if spend is None else [_SpendClock(spend)],
        ),
    )


class _SpendClock(Callback):
    """Saves the time spent every few seconds, so a kill -9 loses little of it."""

    def __init__(self, spend: Spend) -> None:
        self.spend = spend

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        self.spend.tick()


def fit_quietly(tuner: tune.Tuner, verbose: bool) -> None:
    """tuner.fit(), with our lines in place of Ray's unless --verbose."""
    _quiet_ray(verbose)
    # Ray installs a SIGINT handler for the search and leaves it behind: restored, so Ctrl-C
    # during the refit interrupts it instead of setting an event nobody watches.
    previous = signal.getsignal(signal.SIGINT)
    try:
        tuner.fit()
    finally:
        signal.signal(signal.SIGINT, previous)


class _DropRayMessagesWeReplace(logging.Filter):
    """Ray's closing lines: the failed-trial list (our progress lines gave each, with its
    reason) and, after Ctrl-C, advice to resume with Tuner.restore (here one resumes by
    running the same command again, which we say)."""

    REPLACED = (
        "Trials did not complete",
        "Experiment has been interrupted",
        "Stop signal received",
        "Failed to fetch metrics",  # trials stopped before their first report
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.REPLACED)


def _quiet_ray(verbose: bool) -> None:
    """One line a trial from us instead of Ray's tables and tracebacks, unless --verbose."""
    # The legacy reporter at verbose=0 prints nothing; the new one always prints a header.
    os.environ["RAY_AIR_NEW_OUTPUT"] = "1" if verbose else "0"
    # Tracebacks stay in each trial's error.txt, which the FAIL line points to.
    os.environ["TUNE_PRINT_ALL_TRIAL_ERRORS"] = "1" if verbose else "0"
    for name in ("ray.tune.tune", "ray.tune.analysis.experiment_analysis"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropRayMessagesWeReplace) for f in logger.filters):
            logger.addFilter(_DropRayMessagesWeReplace())


__all__ = ["SearchOutcome", "fit_quietly", "run_search", "tuner_for"]
