"""What a person sees while a search runs.

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
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live

from search.budget import LIMITS, Pace, Spent
from search.echo import Echo
from search.report.progress import TrialPrinter
from search.report.status_area import Running, status_table, tally_of
from search.trials.attrs import BUDGET_SPENT, CHOSEN_EPOCHS, RACE_OF, RACE_RUN
from search.trials.states import is_finished, is_race_run
from search.trials.values import best_or_none, shown_params

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial
    from rich.console import RenderableType

    from search.study.spec import StudySpec


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
        log: Echo | None = None,
        refit_scale: float = 1.25,
    ) -> None:
        self.spec, self.echo, self.log = spec, echo, log  # log: lines the live area prints
        self.epochs = spec.trial_epochs.epochs
        self.printer = TrialPrinter(spec.search.metric, self.say)
        self.terminal = sys.stdout.isatty() if terminal is None else terminal
        self.running: dict[int, Running] = {}
        self.tally = tally_of(study, spec)
        self.refit_scale = refit_scale  # the refit's epoch against a trial's: train + val
        self._refitted: FrozenTrial | None = None
        spent = study.user_attrs.get(BUDGET_SPENT, {})
        self._seconds_before = float(spent.get("seconds", 0.0))
        self._clock = time.monotonic()  # search.budget.minutes counts from about here
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
            if self.log is not None:
                self.log(line)
        else:
            self.echo(line)

    # The searcher's events.
    def started(self, trial: optuna.trial.Trial) -> None:
        with self._lock:
            self.running[trial.number] = self._row(trial)

    def _row(self, trial: optuna.trial.Trial) -> Running:
        attrs = trial.user_attrs
        if RACE_OF in attrs:  # it trains as long as its contender's refit would
            label = f"race: trial {attrs[RACE_OF]} run {attrs[RACE_RUN]}"
            return Running(label, trial.params, int(attrs.get(CHOSEN_EPOCHS, self.epochs)))
        return Running(f"trial {trial.number}", trial.params, self.epochs)

    def epoch(self, trial: optuna.trial.Trial, result: dict[str, Any]) -> None:
        if "epoch" not in result:
            return
        epoch, value = int(result["epoch"]), result.get(self.spec.search.metric)
        with self._lock:
            row = self.running.get(trial.number) or self.running.setdefault(
                trial.number, self._row(trial)
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
            name = row.label if row.label.startswith("race") else f"trial {trial.number:>3}"
            self.say(f"{name} epoch {epoch}/{row.of}{shown}  ({row.elapsed()})")

    def finished(self, study: optuna.Study, trial: FrozenTrial) -> None:
        with self._lock:
            row = self.running.pop(trial.number, None)
            if is_finished(trial) and not is_race_run(trial):
                self.tally.finished += 1
                trained = len(trial.intermediate_values) or (row.epoch if row else 0)
                self._trial_epochs.append(trained)
            best = best_or_none(study)
            self.tally.best = (best.value, best.number) if best is not None else None
            self._estimate()
        self.printer(study, trial)

    def refit_of(self, trial: FrozenTrial) -> None:
        """The refit is next: of `trial`, whose parameters its row shows."""
        with self._lock:
            self._refitted = trial
            self._estimate()

    def refit_epoch(self, epoch: int, of: int, device: str, record: dict[str, float]) -> None:
        """The refit's progress: a row of its own on a terminal, a line a epoch elsewhere."""
        trial = self._refitted
        with self._lock:
            label = f"refit of #{trial.number} on {device}" if trial else f"refit on {device}"
            params = shown_params(trial) if trial else {}
            row = self.running.setdefault(-1, Running(label, params, of))
            row.epoch = epoch
            if "train_loss" in record:  # no validation split left: its training loss
                row.label = f"{label}, train_loss {record['train_loss']:.4f}"
            self._estimate()
        if not self.terminal and epoch:
            loss = f", train_loss {record['train_loss']:.4f}" if "train_loss" in record else ""
            self.say(f"refit: epoch {epoch}/{of} on {device}{loss} ({row.elapsed()})")

    def _estimate(self) -> None:
        """Time left: the trials still to run at the epochs a trial has trained on average,
        plus what running trials have left, at the mean epoch time, over the concurrency:
        the soonest any limit of search.budget is reached (each limit's own estimate)."""
        if not self._trial_epochs or not self._epoch_seconds:
            return
        per_trial = sum(self._trial_epochs) / len(self._trial_epochs)
        running = [r for n, r in self.running.items() if n >= 0]
        pace = Pace(
            trial_epochs=per_trial,
            epoch_seconds=sum(self._epoch_seconds[-50:]) / len(self._epoch_seconds[-50:]),
            concurrency=self.spec.search.concurrency,
            running=len(running),
            running_epochs_left=sum(max(0.0, per_trial - r.epoch) for r in running),
        )
        spent = Spent(self.tally.finished, self.tally.epochs, self._spent_seconds(), 0.0)
        estimates = [
            LIMITS[name].seconds_left(bound, spent, pace)
            for name, bound in self.spec.search.stop.limits.items()
        ]
        estimates = [e for e in estimates if e is not None]
        search = min(estimates) if estimates else 0.0
        # Then the refit: the epochs its trial stands for, on train + val, alone.
        refit = self.running.get(-1)
        epochs = self.epochs if self._refitted is None else self._refit_epochs()
        refit_left = (
            (epochs - (refit.epoch if refit else 0)) * pace.epoch_seconds * self.refit_scale
        )
        self.tally.left_seconds = search + max(0.0, refit_left)

    def _refit_epochs(self) -> int:
        trial = self._refitted
        chosen = trial.user_attrs.get(CHOSEN_EPOCHS) if trial is not None else None
        return int(chosen) if chosen else self.epochs

    def _spent_seconds(self) -> float:
        return self._seconds_before + time.monotonic() - self._clock

    def render(self) -> RenderableType:
        with self._lock:
            rows = list(self.running.values())
            footer = self.tally.line()
        return status_table(rows, self.spec.search.metric, footer)
