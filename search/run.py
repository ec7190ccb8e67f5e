"""`run_study`: the whole service for one study file, as `hpsearch run` calls it.

Every input is checked before anything is written (the study file already is; then the data,
the model and its weights, an external storage, Ray and whether a trial fits one of its nodes),
the run directory is locked, the study is held in the storage (one driver per study), and only
then does the search touch its trials. An interrupted search keeps its finished trials; the
same command resumes it. report.html is written at the end of every run that searched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.echo import Echo
from search.errors import SearchFailed, SearchInterrupted
from search.rundir.layout import DataInfo, RunDir, Summary
from search.study.spec import StudySpec
from trainable import counted

if TYPE_CHECKING:
    import optuna
    from ray import ObjectRef

    from search.engine.optuna_study import OpenStudy
    from search.engine.serving import Serving
    from search.report.live import Progress
    from search.start.starts import WarmBatch
    from trainable import Splits


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: Summary  # as in summary.json: best trial and value, trial counts, test scores
    refitted: bool  # False when the run directory already held this result


@dataclass(frozen=True)
class _Run:
    """One run's settings, passed along instead of six arguments."""

    spec: StudySpec
    run_dir: RunDir
    splits: Splits
    shared: ObjectRef  # the splits in Ray's object store: put once, for trials and refit
    verbose: bool
    echo: Echo
    serving: Serving  # each backbone's measured cost, and the study's bounds on it


def run_study(
    spec: StudySpec,
    run_dir: Path | None = None,
    *,
    restart: bool = False,
    dashboard: tuple[str, int] | None = None,
    verbose: bool = False,
    quiet: bool = False,
    echo: Echo = print,
) -> RunResult:
    """Search, refit the best configuration on train + val, test it once, write the run dir.

    `dashboard` (host, port) serves optuna-dashboard beside the search while it runs. Every
    line goes to run.log in the run directory; `quiet`: there only.
    """
    from search.engine.cluster import share
    from search.engine.serving import measure_serving
    from search.engine.signals import sigterm_as_interrupt
    from search.finished import finished_before
    from search.preflight import checked_inputs, placed
    from search.report.live import Progress
    from search.rundir.lock import RunLock
    from search.rundir.resume import check_resumable, check_study_kept
    from search.rundir.run_log import RunLog
    from search.rundir.storage import open_storage
    from search.rundir.study_lease import StudyLease
    from search.start.starts import read_warm_starts

    folder = RunDir(Path(run_dir or Path("runs") / spec.name))
    if restart:
        _restart(folder, spec, echo)
    with ExitStack() as stack:
        stack.enter_context(RunLock(folder))
        log = stack.enter_context(RunLog(folder.run_log))  # every line, errors too
        echo = log.tee(None if quiet else echo)
        if (done := finished_before(folder, spec.with_absolute_paths(), echo)) is not None:
            return RunResult(folder.path, done, refitted=False)  # said in seconds
        warm = read_warm_starts(spec)  # earlier studies: read first, they fail in a second
        splits = checked_inputs(spec, verbose, echo)
        spec = spec.with_absolute_paths()  # as the run directory keeps it
        check_resumable(folder, spec)  # after the inputs: a missing data folder is the news
        shared = share(splits)
        spec = placed(spec, shared, echo)
        stack.enter_context(sigterm_as_interrupt())
        url = folder.storage_url(spec)
        storage = open_storage(url)
        check_study_kept(folder, spec, storage)  # a storage made anew would start over
        # Held before anything reads the trials: another driver's running ones are not ours.
        stack.enter_context(StudyLease(url, spec.name, folder.path, echo=echo))
        opened = _opened(spec, folder, (url, storage), warm, DataInfo.of(splits), echo)
        serving = measure_serving(spec, opened.study, splits.num_classes, splits.image_size, echo)
        _shown(stack, folder, spec, opened.study, (url, dashboard), echo)
        terminal = False if verbose or quiet else None  # Ray's tables, or nothing, instead
        live = Progress(spec, opened.study, echo, terminal=terminal, log=log.write)
        live.refit_scale = (len(splits.train) + len(splits.val or ())) / len(splits.train)
        progress = stack.enter_context(live)  # lines go above its status area while it shows
        run = _Run(spec, folder, splits, shared, verbose, progress.say, serving)
        return _search_then_refit(run, opened, progress)


def _shown(
    stack: ExitStack,
    folder: RunDir,
    spec: StudySpec,
    study: optuna.Study,
    dashboard: tuple[str, tuple[str, int] | None],
    echo: Echo,
) -> None:
    """The dashboard beside the run where asked (`dashboard`: the storage URL and where to
    serve), and report.html when it ends, finished or not."""
    from search.report.dashboard import announced_beside
    from search.report.page import report_or_say

    url, where = dashboard
    if where is not None:
        stack.enter_context(announced_beside(url, where, folder.path, echo))
    stack.callback(report_or_say, folder, spec, study, echo)


def _restart(folder: RunDir, spec: StudySpec, echo: Echo) -> None:
    """--restart: the earlier run moved aside (never deleted)."""
    from search.rundir.lock import RunLock
    from search.rundir.resume import move_aside

    with RunLock(folder) if folder.path.exists() else nullcontext():
        moved = move_aside(folder, spec)
    if moved:
        echo(f"restart: the previous run is now {moved}")


def _search_then_refit(run: _Run, opened: OpenStudy, progress: Progress) -> RunResult:
    """The search, the race where the study asks for one, the refit and its test."""
    from search.selection.race_runs import race_step

    started = time.perf_counter()
    budget = _search(run, opened, progress)
    seconds = {"search": round(time.perf_counter() - started, 1)}
    if run.spec.search.select.runs_before_pick:
        race = (run.spec, run.run_dir.path, run.splits, run.shared, opened)
        seconds["race"] = _timed(race_step, *race, progress, run.verbose)
    return _refit(run, opened.study, seconds, progress, budget)


def _opened(
    spec: StudySpec,
    folder: RunDir,
    where: tuple[str, optuna.storages.BaseStorage],
    warm: list[WarmBatch],
    data: DataInfo,
    echo: Echo,
) -> OpenStudy:
    """The study opened, described for the dashboard and its spec saved, with what it starts
    from: earlier studies' trials (search.warm_start) and the portfolio (search.start)."""
    from search.engine.optuna_study import open_study
    from search.report.progress import study_line
    from search.report.study_note import describe_study
    from search.start.starts import add_starts

    url, storage = where
    opened = open_study(spec, storage)
    describe_study(opened.study, spec, data)
    folder.write_spec(spec)
    echo(study_line(spec, url))
    add_starts(opened.study, spec, warm, echo)
    return opened


def _timed(step: Callable[..., None], *args: object) -> float:
    started = time.perf_counter()
    step(*args)
    return round(time.perf_counter() - started, 1)


def _search(run: _Run, opened: OpenStudy, progress: Progress) -> dict[str, Any]:
    """Run the trials; raise if the search was interrupted or failed too often. Returns what
    it spent of search.budget (summary.json's `budget`)."""
    from search.budget import spent_line
    from search.engine.optuna_study import fail_interrupted
    from search.engine.tuner import run_search
    from search.rundir.results import write_trials
    from search.trials.states import complete_trials

    spec, study = run.spec, opened.study
    try:
        outcome = run_search(
            spec,
            run.run_dir.path,
            run.shared,
            opened,
            verbose=run.verbose,
            watch=progress,
            serving=run.serving,
        )
    except KeyboardInterrupt:  # a second Ctrl-C: Ray did not get to stop gracefully
        fail_interrupted(opened)
        raise _interrupted(study, spec) from None
    finally:
        write_trials(run.run_dir, study, spec.search.metric)
    if outcome.interrupted:
        raise _interrupted(study, spec)
    if outcome.over_failure_budget:
        raise SearchFailed(
            f"stopped: {outcome.failed} trials failed, more than search.max_failed_trials="
            f"{spec.search.failure_budget}; see fail_reason in {run.run_dir.trials_csv}, "
            "fix the cause and run again to resume"
        )
    if spec.search.budget is not None:
        progress.say(spent_line(outcome.budget))
    limit = outcome.budget["stopped_by"]
    if limit not in (None, "trials") and not complete_trials(study):
        raise SearchFailed(
            f"search.budget.{limit} ran out before any trial completed "
            f"({spent_line(outcome.budget).removeprefix('budget: ')}); raise it, or let trials "
            "train fewer epochs; run again to go on from the trials kept"
        )
    return outcome.budget


def _refit(
    run: _Run,
    study: optuna.Study,
    seconds: dict[str, float],
    progress: Progress,
    budget: dict[str, Any],
) -> RunResult:
    from search.engine.refit import best_config, refit_best
    from search.report.study_note import note_result
    from search.rundir.results import write_results
    from search.rundir.resume import finished_results

    config, best = best_config(study, run.spec)
    existing = finished_results(run.run_dir, best)
    if existing is not None:
        chosen = run.spec.search.select.winner
        run.echo(
            f"nothing new to refit: trial {best.number} is still {chosen}, its refit is "
            f"in {run.run_dir}"
        )
        race = run.spec.search.select.summary(study, run.spec.search.constraints.limits)
        news = {"race": race, "budget": budget}
        if any(getattr(existing, k) != v for k, v in news.items()):  # the study went on
            existing = existing.model_copy(update=news)
            run.run_dir.write_summary(existing)
        return RunResult(run.run_dir.path, existing, refitted=False)
    splits = run.splits
    run.echo(
        f"refit: trial {best.number} on train + val, then the test split "
        f"({counted(len(splits.test), 'image')})"
    )
    started = time.perf_counter()
    progress.refit_of(best)
    try:
        refit = refit_best(
            config, best, run.spec, run.shared, run.echo, on_epoch=progress.refit_epoch
        )
    except KeyboardInterrupt:
        raise _interrupted(study, run.spec, during="the refit") from None
    seconds = {**seconds, "refit": round(time.perf_counter() - started, 1)}
    data = DataInfo.of(splits)
    summary = write_results(run.run_dir, run.spec, study, refit, data, seconds, budget)
    note_result(study, run.spec, data, summary)
    return RunResult(run.run_dir.path, summary, refitted=True)


def _interrupted(
    study: optuna.Study, spec: StudySpec, during: str = "the search"
) -> SearchInterrupted:
    from search.trials.states import finished_count

    wanted = spec.search.trial_limit
    of = f" of {wanted}" if wanted is not None else ""
    return SearchInterrupted(
        f"interrupted during {during}: {finished_count(study)}{of} trials "
        "finished and are kept; run the same command again to resume"
    )
