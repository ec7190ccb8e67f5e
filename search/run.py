"""`run_study`: the whole service for one study file, as `hpsearch run` calls it, as a list of
steps: check, prepare, search, select, refit (which writes the results), report.

Every input is checked before anything is written (the study file already is; then the data,
the model and its weights, an external storage, Ray and whether a trial fits one of its nodes),
the run directory is locked, the study is held in the storage (one driver per study), and only
then does the search touch its trials. An interrupted search keeps its finished trials; the
same command resumes it. report.html is written at the end of every run that searched.

Each step that leaves something behind knows whether it is done for a run directory
(`done`): a rerun that would add nothing answers in seconds, with no Ray, data or model.
"""

from __future__ import annotations

import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from search.budget import Spend, spent_line
from search.echo import Echo
from search.engine.cluster import share
from search.engine.optuna_study import fail_interrupted, open_study
from search.engine.refit import best_config, refit_best
from search.engine.serving import measure_serving
from search.engine.signals import sigterm_as_interrupt
from search.errors import HPSearchError, SearchFailed, SearchInterrupted
from search.preflight import checked_inputs, measure_and_check_resources
from search.report.dashboard import announced_beside
from search.report.live import Progress
from search.report.page import report_or_say
from search.report.progress import study_line
from search.report.study_note import describe_study, note_result
from search.rundir.layout import DataInfo, RunDir, Summary
from search.rundir.lock import RunLock
from search.rundir.results import write_results, write_trials
from search.rundir.resume import (
    check_resumable,
    check_study_kept,
    finished_results,
    move_aside,
)
from search.rundir.run_log import RunLog
from search.rundir.storage import open_storage
from search.rundir.study_lease import StudyLease
from search.start.starts import WarmBatch, add_starts, read_warm_starts, starts_to_add
from search.study.spec import StudySpec
from search.tracking import Tracker, registered, tracking_uri
from search.trials.attrs import REFIT
from search.trials.states import complete_trials, finished_count
from trainable import counted

if TYPE_CHECKING:
    from ray import ObjectRef

    from search.engine.optuna_study import OpenStudy
    from search.engine.serving import Serving
    from trainable import Splits


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: Summary  # as in summary.json: best trial and value, trial counts, test scores
    refitted: bool  # False when the run directory already held this result


@dataclass
class Run:
    """One `hpsearch run`: its settings, and what each step hands the next."""

    spec: StudySpec
    folder: RunDir
    stack: ExitStack  # what the run holds until it ends: lock, log, lease, live view
    log: RunLog
    echo: Echo
    verbose: bool = False
    quiet: bool = False
    dashboard: tuple[str, int] | None = None  # (host, port) to serve optuna-dashboard on
    warm: list[WarmBatch] = field(default_factory=list)
    splits: Splits | None = None
    shared: ObjectRef | None = None  # the splits in Ray's object store: put once
    opened: OpenStudy | None = None
    serving: Serving | None = None  # each backbone's measured cost, and the study's bounds
    progress: Progress | None = None
    tracker: Tracker | None = None  # tracking.mlflow: the study's runs, sent as trials finish
    seconds: dict[str, float] = field(default_factory=dict)  # each step's time
    budget: dict[str, Any] = field(default_factory=dict)  # what the search spent
    result: RunResult | None = None


@dataclass(frozen=True)
class Stored:
    """What a run directory and its storage hold, for the steps' `done`."""

    folder: RunDir
    spec: StudySpec
    study: optuna.Study


class Step:
    """One step of a run. `done`: None for a step that runs only for the ones after it."""

    name = ""

    def done(self, stored: Stored) -> bool | None:
        return None

    def run(self, run: Run) -> None:
        raise NotImplementedError


class Check(Step):
    """Every input, each failing with one line before anything is written."""

    name = "check"

    def run(self, run: Run) -> None:
        run.warm = read_warm_starts(run.spec)  # earlier studies: they fail in a second
        run.splits = checked_inputs(run.spec, run.verbose, run.echo)
        run.spec = run.spec.with_absolute_paths()  # as the run directory keeps it
        check_resumable(run.folder, run.spec)  # after the inputs: a missing data folder is news
        if run.spec.tracking is not None:
            tracking_uri(run.spec.tracking.mlflow.uri)  # its ${VAR}s set, MLflow installed


class Prepare(Step):
    """The data shared with Ray, resources placed, the study held and opened with what it
    starts from, serving cost measured, the dashboard and the live view."""

    name = "prepare"

    def run(self, run: Run) -> None:

        splits = run.splits
        run.shared = share(splits)
        run.spec = measure_and_check_resources(run.spec, run.shared, run.echo)
        run.stack.enter_context(sigterm_as_interrupt())
        url = run.folder.storage_url(run.spec)
        storage = open_storage(url)
        check_study_kept(run.folder, run.spec, storage)  # a storage made anew would start over
        # Held before anything reads the trials: another driver's running ones are not ours.
        run.stack.enter_context(StudyLease(url, run.spec.name, run.folder.path, echo=run.echo))
        run.opened = self._open(run, url, storage)
        study = run.opened.study
        size = splits.image_size
        if run.spec.weighs_serving_cost:
            run.serving = measure_serving(run.spec, study, splits.num_classes, size, run.echo)
        self._show(run, url)
        if run.spec.tracking is not None:
            run.tracker = Tracker(run.spec, study, url, run.echo)
            run.stack.enter_context(run.tracker.syncing())

    @staticmethod
    def _open(run: Run, url: str, storage: optuna.storages.BaseStorage) -> OpenStudy:
        """The study opened, described for the dashboard and its spec saved, with what it
        starts from: earlier studies' trials and the first trials of search.start."""

        opened = open_study(run.spec, storage)
        describe_study(opened.study, run.spec, DataInfo.of(run.splits))
        run.folder.write_spec(run.spec)
        run.echo(study_line(run.spec, url))
        add_starts(opened.study, run.spec, run.warm, run.echo)
        return opened

    @staticmethod
    def _show(run: Run, url: str) -> None:
        """optuna-dashboard beside the run where asked, and the live view."""

        if run.dashboard is not None:
            where = announced_beside(url, run.dashboard, run.folder.path, run.echo)
            run.stack.enter_context(where)
        terminal = False if run.verbose or run.quiet else None  # Ray's tables, or nothing
        live = Progress(run.spec, run.opened.study, run.echo, terminal=terminal, log=run.log.write)
        splits = run.splits
        live.refit_scale = (len(splits.train) + len(splits.val or ())) / len(splits.train)
        run.progress = run.stack.enter_context(live)  # lines go above its status area
        run.echo = run.progress.say


class Search(Step):
    """Trials until search.trials or the budget; fails if it was interrupted or failed too
    often. Done: the trials are there, or the budget is spent, and nothing is left to add
    before it."""

    name = "search"

    def done(self, stored: Stored) -> bool:
        study, spec = stored.study, stored.spec
        if starts_to_add(study, spec):
            return False
        finished = finished_count(study)
        wanted = spec.search.trial_limit
        if wanted is not None and finished >= wanted:
            return True
        gpus = spec.resources.gpus_per_trial
        spend = Spend(study, spec.search.stop, 0.0 if gpus == "auto" else float(gpus))
        return spend.reached(finished) is not None

    def run(self, run: Run) -> None:

        spec, opened = run.spec, run.opened
        # Imported here, as race_step below: Ray reads RAY_AUTH_MODE once, when it is first
        # imported, and start_ray (the Check step) decides it first.
        from search.engine.tuner import run_search

        started = time.perf_counter()
        try:
            outcome = run_search(
                spec,
                run.folder.path,
                run.shared,
                opened,
                verbose=run.verbose,
                watch=run.progress,
                serving=run.serving,
            )
        except KeyboardInterrupt:  # a second Ctrl-C: Ray did not get to stop gracefully
            fail_interrupted(opened)
            raise interrupted(opened.study, spec) from None
        finally:
            write_trials(run.folder, opened.study, spec.search.metric)
        if outcome.interrupted:
            raise interrupted(opened.study, spec)
        if outcome.over_failure_budget:
            raise SearchFailed(
                f"stopped: {outcome.failed} trials failed, more than search.max_failed_trials="
                f"{spec.search.failure_budget}; see fail_reason in {run.folder.trials_csv}, "
                "fix the cause and run again to resume"
            )
        run.seconds["search"] = round(time.perf_counter() - started, 1)
        run.budget = outcome.budget
        self._say_spent(run)

    @staticmethod
    def _say_spent(run: Run) -> None:
        spent = spent_line(run.budget)
        if run.spec.search.budget is not None:
            run.echo(spent)
        limit = run.budget["stopped_by"]
        if limit not in (None, "trials") and not complete_trials(run.opened.study):
            raise SearchFailed(
                f"search.budget.{limit} ran out before any trial completed "
                f"({spent.removeprefix('budget: ')}); raise it, or let trials train fewer "
                "epochs; run again to go on from the trials kept"
            )


class Select(Step):
    """search.select's runs before it picks (the race), where it has any. Done: none left."""

    name = "select"

    def done(self, stored: Stored) -> bool:
        select = stored.spec.search.select
        return not select.to_do(stored.study, stored.spec.search.constraints.limits)

    def run(self, run: Run) -> None:
        if not run.spec.search.select.runs_before_pick:
            return

        from search.selection.race_runs import race_step  # Ray: as in Search.run

        started = time.perf_counter()
        race_step(
            run.spec,
            run.folder.path,
            run.splits,
            run.shared,
            run.opened,
            run.progress,
            run.verbose,
        )
        run.seconds["race"] = round(time.perf_counter() - started, 1)


class Refit(Step):
    """The chosen trial refitted on train + val, tested once, and the run directory written.
    Done: the run directory holds the refit of the trial search.select picks now."""

    name = "refit"

    def done(self, stored: Stored) -> bool:

        try:
            _, chosen = best_config(stored.study, stored.spec)
        except HPSearchError:
            return False
        return finished_results(stored.folder, chosen) is not None

    def run(self, run: Run) -> None:

        spec, study = run.spec, run.opened.study
        config, chosen = best_config(study, spec)
        existing = finished_results(run.folder, chosen)
        if existing is not None:
            run.result = self._kept(run, chosen.number, existing)
            return
        run.echo(
            f"refit: trial {chosen.number} on train + val, then the test split "
            f"({counted(len(run.splits.test), 'image')})"
        )
        self._refit(run, config, chosen)

    @staticmethod
    def _kept(run: Run, number: int, existing: Summary) -> RunResult:
        """The refit already there, its summary brought up to date (the study went on)."""
        spec, study = run.spec, run.opened.study
        chosen = spec.search.select.winner
        run.echo(
            f"nothing new to refit: trial {number} is still {chosen}, its refit is in {run.folder}"
        )
        race = spec.search.select.summary(study, spec.search.constraints.limits)
        news = {"race": race, "budget": run.budget}
        if any(getattr(existing, k) != v for k, v in news.items()):
            existing = existing.model_copy(update=news)
            run.folder.write_summary(existing)
        return RunResult(run.folder.path, existing, refitted=False)

    @staticmethod
    def _refit(run: Run, config: Any, chosen: optuna.trial.FrozenTrial) -> None:

        spec, study, progress = run.spec, run.opened.study, run.progress
        started = time.perf_counter()
        progress.refit_of(chosen)
        since = datetime.now(timezone.utc).isoformat(timespec="seconds")

        def on_epoch(epoch: int, of: int, device: str, record: dict[str, float]) -> None:
            progress.refit_epoch(epoch, of, device, record)
            # `hpsearch status` shows the refit from the storage, as the live view does.
            loss = record.get("train_loss")
            where = {"trial": chosen.number, "epoch": epoch, "of": of, "device": device}
            study.set_user_attr(REFIT, {**where, "train_loss": loss, "started": since})

        try:
            refit = refit_best(config, chosen, spec, run.shared, run.echo, on_epoch=on_epoch)
        except KeyboardInterrupt:
            raise interrupted(study, spec, during="the refit") from None
        study.set_user_attr(REFIT, None)  # left where it failed: status shows only its driver's
        run.seconds["refit"] = round(time.perf_counter() - started, 1)
        data = DataInfo.of(run.splits)
        summary = write_results(run.folder, spec, study, refit, data, run.seconds, run.budget)
        note_result(study, spec, data, summary)
        run.result = RunResult(run.folder.path, summary, refitted=True)


class Report(Step):
    """report.html, written whenever the study was opened, finished or not; then, where the
    study is tracked, the last trials, the refit and its model sent to MLflow."""

    name = "report"

    def run(self, run: Run) -> None:

        if run.opened is not None:
            report_or_say(run.folder, run.spec, run.opened.study, run.echo)
        if run.tracker is not None:
            summary = run.result.summary if run.result is not None else None
            tracked = run.tracker.finish(run.folder, summary)
            if tracked is not None and tracked.mlflow:
                where = f"study {run.spec.name} in MLflow at {run.tracker.shown}"
                run.echo(f"tracking: {where}, {registered(tracked)}")
                run.result = RunResult(run.result.run_dir, tracked, run.result.refitted)


SEARCH = Search()
STEPS: tuple[Step, ...] = (Check(), Prepare(), SEARCH, Select(), Refit())
REPORT = Report()  # after them, however they ended


def run_study(
    spec: StudySpec,
    run_dir: Path | None = None,
    *,
    restart: bool = False,
    dashboard: tuple[str, int] | None = None,
    verbose: bool = False,
    quiet: bool = False,
    echo: Echo = print,
    search_only: bool = False,
) -> RunResult | None:
    """Search, refit the chosen configuration on train + val, test it once, write the run
    directory: each of STEPS in turn, then the report.

    `dashboard` (host, port) serves optuna-dashboard beside the search while it runs. Every
    line goes to run.log in the run directory; `quiet`: there only. `search_only`: the trials
    into the storage and no more (nothing selected, refitted or reported; None returned), for
    what compares searches alone (benchmarks/); a later run_study finishes the run.
    """
    folder = RunDir(Path(run_dir or Path("runs") / spec.name))
    if restart:
        _restart(folder, spec, echo)
    with ExitStack() as stack:
        stack.enter_context(RunLock(folder))
        log = stack.enter_context(RunLog(folder.run_log))  # every line, errors too
        echo = log.tee(None if quiet else echo)
        if (done := finished_before(folder, spec.with_absolute_paths(), echo)) is not None:
            return RunResult(folder.path, done, refitted=False)  # said in seconds
        run = Run(spec, folder, stack, log, echo, verbose, quiet, dashboard)
        steps = STEPS[: STEPS.index(SEARCH) + 1] if search_only else STEPS
        if not search_only:  # entered before the steps: it runs after the live view lets go
            stack.callback(REPORT.run, run)
        for step in steps:
            step.run(run)
    return run.result  # after the report step: with what tracking sent, where it did


def finished_before(folder: RunDir, spec: StudySpec, echo: Echo) -> Summary | None:
    """The run directory's result, said so, when every step is done for it: running `spec`
    there would add nothing. Any doubt (a storage that does not answer, a study file that
    changed what it searches) goes the usual way, which says what is wrong."""

    summary = folder.read_summary()
    if summary is None:
        return None
    try:
        check_resumable(folder, spec)
        storage = open_storage(folder.storage_url(spec))
        study = optuna.load_study(study_name=spec.name, storage=storage)
    except (HPSearchError, KeyError):
        return None
    stored = Stored(folder, spec, study)
    if not all(step.done(stored) is not False for step in STEPS):
        return None
    echo(
        f"nothing new to run: study {spec.name} holds what search.trials and the budget "
        f"ask for, and its refit of trial {summary.best_trial} is in {folder}; raise them to "
        "search on"
    )
    return summary  # the refit's own: Refit.done checked it is the chosen trial's


def _restart(folder: RunDir, spec: StudySpec, echo: Echo) -> None:
    """--restart: the earlier run moved aside (never deleted)."""
    with RunLock(folder) if folder.path.exists() else nullcontext():
        moved = move_aside(folder, spec)
    if moved:
        echo(f"restart: the previous run is now {moved}")


def interrupted(
    study: optuna.Study, spec: StudySpec, during: str = "the search"
) -> SearchInterrupted:
    """What an interrupted run says: what is kept, and how to go on."""
    wanted = spec.search.trial_limit
    of = f" of {wanted}" if wanted is not None else ""
    return SearchInterrupted(
        f"interrupted during {during}: {finished_count(study)}{of} trials "
        "finished and are kept; run the same command again to resume"
    )


__all__ = ["STEPS", "Run", "RunResult", "Step", "finished_before", "run_study"]
