"""What a person sees while a search runs, and what `hpsearch status` shows of one.

On a terminal, `hpsearch run` keeps a status area under its trial lines (rich's Live): one row
a running trial (number, parameters, epoch k of n, its latest validation value, time so far)
and a footer (trials finished of wanted, best so far, epochs trained, an estimate of the time
left). Anywhere else (a log file, CI) it prints plain lines instead: one per epoch per trial,
never a control character. The refit shows its epochs the same way.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.engine.optuna_study import best_or_none
from search.report.progress import TrialPrinter, format_params
from search.study.budget import EpochBudget

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial
    from rich.console import RenderableType

    from search.study.spec import StudySpec

Echo = Callable[[str], None]


@dataclass
class Running:
    """One trial (or the refit) as the status area shows it."""

    label: str
    params: dict[str, Any]
    of: int  # epochs it may train
    epoch: int = 0
    value: float | None = None
    started: float = field(default_factory=time.monotonic)
    since: str = ""  # `hpsearch status`: when it started, by the clock
    trained: float = 0.0  # seconds inside train() at its latest epoch, as the trial reports

    def elapsed(self) -> str:
        return _duration(time.monotonic() - self.started)


@dataclass
class Tally:
    """The footer: how far the search is."""

    metric: str
    wanted: int
    finished: int = 0
    epochs: int = 0
    best: tuple[float, int] | None = None  # value, trial number
    left_seconds: float | None = None
    estimating: bool = True  # False: say nothing of the time left (`hpsearch status`)

    def line(self) -> str:
        best = "no best yet"
        if self.best is not None:
            best = f"best {self.metric} {self.best[0]:.4f} (#{self.best[1]})"
        if not self.estimating:
            left = ""
        elif self.left_seconds is None:
            left = "time left: known after the first trial"
        elif self.left_seconds < 5:
            left = "almost done"
        else:
            left = f"about {_duration(self.left_seconds)} left"
        parts = [f"{self.finished}/{self.wanted} trials finished", best]
        parts += [f"{self.epochs} epochs trained", left]
        return " · ".join(p for p in parts if p)


class Progress:
    """The searcher's watcher: trial lines, and per-epoch status, live or plain.

    `started`, `epoch` and `finished` are called by the searcher in the driver; `refit_epoch` by
    the refit's waiting loop. Use it as a context manager around the search and the refit.
    """

    def __init__(
        self,
        spec: StudySpec,
        study: optuna.Study,
        echo: Echo = print,
        *,
        terminal: bool | None = None,
    ) -> None:
        self.spec, self.echo = spec, echo
        self.epochs = EpochBudget.of(spec).epochs
        self.printer = TrialPrinter(spec.search.metric, self.say)
        self.terminal = sys.stdout.isatty() if terminal is None else terminal
        self.running: dict[int, Running] = {}
        self.tally = tally_of(study, spec)
        self._epoch_seconds: list[float] = []
        self._trial_epochs: list[int] = []
        self._lock = threading.Lock()
        self._live: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Ray pickles the searcher with the experiment (for a restore hpsearch never does):
        leave out the lock and the live display."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_lock", "_live")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock(), _live=None)

    def __enter__(self) -> Progress:
        if self.terminal:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                console=Console(),
                get_renderable=self.render,
                refresh_per_second=2,
                transient=True,
                redirect_stdout=True,
                redirect_stderr=True,
            )
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def say(self, line: str) -> None:
        """Print a line: above the status area while it shows."""
        live = self._live
        if live is not None:
            live.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            self.echo(line)

    # The searcher's events.
    def started(self, trial: optuna.trial.Trial) -> None:
        with self._lock:
            self.running[trial.number] = Running(f"trial {trial.number}", trial.params, self.epochs)

    def epoch(self, trial: optuna.trial.Trial, result: dict[str, Any]) -> None:
        if "epoch" not in result:
            return
        epoch, value = int(result["epoch"]), result.get(self.spec.search.metric)
        with self._lock:
            row = self.running.setdefault(
                trial.number, Running(f"trial {trial.number}", trial.params, self.epochs)
            )
            if epoch <= row.epoch:
                return
            row.epoch, row.value = epoch, value
            self.tally.epochs += 1
            elapsed = float(result.get("elapsed_seconds", 0.0))
            self._epoch_seconds.append(elapsed - row.trained)
            row.trained = elapsed
            self._estimate()
        if not self.terminal:
            shown = "" if value is None else f"  {self.spec.search.metric} {value:.4f}"
            self.say(
                f"trial {trial.number:>3} epoch {epoch}/{self.epochs}{shown}  ({row.elapsed()})"
            )

    def finished(self, study: optuna.Study, trial: FrozenTrial) -> None:
        with self._lock:
            row = self.running.pop(trial.number, None)
            if trial.state.name != "FAIL":
                self.tally.finished += 1
                trained = len(trial.intermediate_values) or (row.epoch if row else 0)
                self._trial_epochs.append(trained)
            best = best_or_none(study)
            self.tally.best = (best.value, best.number) if best is not None else None
            self._estimate()
        self.printer(study, trial)

    def refit_epoch(self, epoch: int, of: int, device: str, record: dict[str, float]) -> None:
        """The refit's progress: a row of its own on a terminal, a line a epoch elsewhere."""
        with self._lock:
            row = self.running.setdefault(-1, Running(f"refit on {device}", {}, of))
            row.epoch = epoch
            if "train_loss" in record:  # no validation split left: its training loss
                row.params = {"train_loss": round(record["train_loss"], 4)}
        if not self.terminal and epoch:
            loss = f", train_loss {record['train_loss']:.4f}" if "train_loss" in record else ""
            self.say(f"refit: epoch {epoch}/{of} on {device}{loss} ({row.elapsed()})")

    def refit_done(self) -> None:
        with self._lock:
            self.running.pop(-1, None)

    def _estimate(self) -> None:
        """Time left: the trials still to run at the epochs a trial has trained on average,
        plus what running trials have left, at the mean epoch time, over the concurrency."""
        if not self._trial_epochs or not self._epoch_seconds:
            return
        per_trial = sum(self._trial_epochs) / len(self._trial_epochs)
        per_epoch = sum(self._epoch_seconds[-50:]) / len(self._epoch_seconds[-50:])
        unstarted = max(0, self.tally.wanted - self.tally.finished - len(self.running))
        in_flight = sum(max(0.0, per_trial - r.epoch) for n, r in self.running.items() if n >= 0)
        epochs_left = unstarted * per_trial + in_flight
        self.tally.left_seconds = epochs_left * per_epoch / self.spec.search.concurrency

    def render(self) -> RenderableType:
        with self._lock:
            rows = list(self.running.values())
            footer = self.tally.line()
        return status_table(rows, self.spec.search.metric, footer)


def tally_of(study: optuna.Study, spec: StudySpec) -> Tally:
    """The footer's counts from the storage: what a resumed run starts from."""
    trials = study.get_trials(deepcopy=False)
    best = best_or_none(study)
    return Tally(
        metric=spec.search.metric,
        wanted=spec.search.trials,
        finished=sum(t.state.name in ("COMPLETE", "PRUNED") for t in trials),
        epochs=sum(len(t.intermediate_values) for t in trials),
        best=(best.value, best.number) if best is not None else None,
    )


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
    epochs = EpochBudget.of(spec).epochs
    now = datetime.now()
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state.name != "RUNNING":
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
                since=f"{started:%H:%M:%S} ({_duration((now - started).total_seconds())})",
            )
        )
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


def status_table(rows: list[Running], metric: str, footer: str) -> RenderableType:
    """Running trials as a table, the footer under it."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    clock = "since" if any(r.since for r in rows) else "time"
    for name in ("", "parameters", "epoch", metric, clock):
        table.add_column(name, no_wrap=name != "parameters")
    for row in rows:
        value = "" if row.value is None else f"{row.value:.4f}"
        when = row.since or row.elapsed()
        table.add_row(row.label, format_params(row.params), f"{row.epoch}/{row.of}", value, when)
    summary = Text(footer, style="bold", no_wrap=True, overflow="ignore")
    return Group(table, summary) if rows else Group(summary)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
