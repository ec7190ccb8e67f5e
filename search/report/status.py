"""`hpsearch status`: which trials of a run directory's study run now and since when, who drives
the study, how far it is, and its result once finished; read from its storage, so a run driven
on another machine, or finished, shows alike."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from search.report.status_area import Running, duration, status_table, tally_of
from search.trials.states import is_running

if TYPE_CHECKING:
    from datetime import datetime

    import optuna
    from rich.console import RenderableType


def run_status(run_dir: Path) -> tuple[str, RenderableType, list[str]]:
    """`hpsearch status`: (heading, running trials with the footer, closing lines) of a run
    directory, read from its storage; a run driven elsewhere, or finished, alike."""
    from datetime import datetime

    from search.rundir.layout import RunDir
    from search.rundir.resume import load_run_study
    from search.rundir.storage import shown
    from search.rundir.study_lease import current_holder

    run = RunDir(run_dir)
    spec, study = load_run_study(run)
    url = run.storage_url(spec)
    rows = running_rows(study, spec.budget.epochs, datetime.now())
    holder = current_holder(url, spec.name)
    if holder is not None:
        driven = f"driven by {holder.describe(time.time())}"
    else:
        driven = "no hpsearch run drives it now"
    heading = f"study {spec.name} in {shown(url)}: {driven}"
    closing = []
    summary = run.read_summary()
    if summary is not None:
        closing = [
            f"finished: best trial {summary.best_trial}, {summary.metric} "
            f"{summary.best_value:.4f}; test: {summary.test.line()}",
            f"run directory: {run.path}",
        ]
    elif holder is None:
        closing = ["not finished, and nothing runs it: `hpsearch run` on its study resumes it"]
    tally = tally_of(study, spec)
    tally.estimating = False
    return heading, status_table(rows, spec.search.metric, tally.line()), closing


def running_rows(study: optuna.Study, epochs: int, now: datetime) -> list[Running]:
    """A row for each trial the storage holds as running: its epoch and latest value, and
    since when (by the clock) it runs."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if not is_running(trial):
            continue
        values = list(trial.intermediate_values.values())
        started = trial.datetime_start or now
        rows.append(
            Running(
                f"trial {trial.number}",
                trial.params,
                epochs,
                epoch=len(values),
                value=values[-1] if values else None,
                since=f"{started:%H:%M:%S} ({duration((now - started).total_seconds())})",
            )
        )
    return rows
