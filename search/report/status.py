"""`hpsearch status`: which trials of a run directory's study run now and since when, who drives
the study, how far it is, and its result once finished; read from its storage, so a run driven
on another machine, or finished, shows alike."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.report.status_area import Running, Tally, duration, status_table, tally_of
from search.rundir.layout import RunDir
from search.rundir.resume import load_run_study
from search.rundir.study_lease import current_holder
from search.trials.attrs import CHOSEN_EPOCHS, RACE_OF, RACE_RUN, REFIT
from search.trials.states import is_running
from search.trials.values import shown_params
from search.urls import masked

if TYPE_CHECKING:
    import optuna
    from rich.console import RenderableType


@dataclass(frozen=True)
class Status:
    """What `hpsearch status` says of a run directory, to print or to give as JSON."""

    heading: str
    rows: list[Running]
    tally: Tally
    closing: list[str]
    record: dict[str, Any]  # --json

    def renderable(self) -> RenderableType:
        return status_table(self.rows, self.tally.metric, self.tally.line())


def run_status(run_dir: Path) -> Status:
    """`hpsearch status`: who drives the study, its running trials, how far it is and its
    result, read from its storage; a run driven elsewhere, or finished, alike."""

    run = RunDir(run_dir)
    spec, study = load_run_study(run)
    url = run.storage_url(spec)
    holder = current_holder(url, spec.name)
    since = holder.since if holder is not None else None
    rows = running_rows(study, spec.trial_epochs.epochs, datetime.now(), driven_since=since)
    driver = holder.describe(time.time()) if holder is not None else None
    driven = f"driven by {driver}" if driver else "no hpsearch run drives it now"
    summary = run.read_summary()
    closing = []
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
    record = {
        "study": spec.name,
        "storage": masked(url),
        "run_dir": str(run.path),
        "driven_by": holder.record(time.time()) if holder is not None else None,
        "running": [row.record() for row in rows],
        "trials_finished": tally.finished,
        "trials_wanted": tally.wanted,
        "epochs_trained": tally.epochs,
        "best": None if tally.best is None else {"trial": tally.best[1], "value": tally.best[0]},
        "result": None if summary is None else summary.model_dump(mode="json"),
    }
    heading = f"study {spec.name} in {masked(url)}: {driven}"
    return Status(heading, rows, tally, closing, record)


def running_rows(
    study: optuna.Study, epochs: int, now: datetime, *, driven_since: float | None = 0.0
) -> list[Running]:
    """A row for each trial the storage holds as running (a race run as the live view labels
    it), its epoch, latest value and since when (by the clock) it runs; then the refit's, where
    a driver refits now: the driver holding the study since `driven_since` (seconds since the
    epoch; None: no driver), so a refit an earlier run left unfinished is not shown as one."""
    rows = []
    trials = study.get_trials(deepcopy=False)
    for trial in trials:
        if not is_running(trial):
            continue
        values = list(trial.intermediate_values.values())
        attrs = trial.user_attrs
        label, of, kind = f"trial {trial.number}", epochs, "trial"
        if RACE_OF in attrs:  # it trains as long as its contender's refit would
            label = f"race: trial {attrs[RACE_OF]} run {attrs[RACE_RUN]}"
            of, kind = int(attrs.get(CHOSEN_EPOCHS, epochs)), "race run"
        started = trial.datetime_start or now
        rows.append(
            _row(
                label,
                trial.params,
                of,
                len(values),
                values[-1] if values else None,
                started,
                now,
                number=trial.number,
                kind=kind,
            )
        )
    refit = study.user_attrs.get(REFIT)
    if _refits_now(refit, driven_since) and 0 <= refit["trial"] < len(trials):
        trial = trials[refit["trial"]]
        loss = refit.get("train_loss")
        label = f"refit of #{trial.number} on {refit['device']}"
        label += f", train_loss {loss:.4f}" if loss is not None else ""
        started = datetime.fromisoformat(refit["started"]).astimezone().replace(tzinfo=None)
        rows.append(
            _row(
                label,
                shown_params(trial),
                refit["of"],
                refit["epoch"],
                None,
                started,
                now,
                number=trial.number,
                kind="refit",
            )
        )
    return rows


def _refits_now(refit: dict[str, Any] | None, driven_since: float | None) -> bool:
    """The stored refit is the current driver's: it began after the driver took the study
    (a second of clocks apart allowed: the database's and the driver's)."""
    if not refit or driven_since is None:
        return False
    return datetime.fromisoformat(refit["started"]).timestamp() >= driven_since - 1.0


def _row(
    label: str,
    params: dict[str, Any],
    of: int,
    epoch: int,
    value: float | None,
    started: datetime,
    now: datetime,
    **which: Any,
) -> Running:
    """`started` and `now`: naive local time, as Optuna keeps a trial's start."""
    return Running(
        label,
        params,
        of,
        epoch=epoch,
        value=value,
        since=f"{started:%H:%M:%S} ({duration((now - started).total_seconds())})",
        started_at=started.astimezone().isoformat(timespec="seconds"),
        **which,
    )
