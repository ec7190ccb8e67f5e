"""The status area's rows and footer, shared by `hpsearch run`'s live view (live.py) and
`hpsearch status` (status.py): one row a running trial or the refit, one footer line."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from search.trials.states import is_finished, search_trials
from search.trials.values import best_or_none, format_params

if TYPE_CHECKING:
    import optuna
    from rich.console import RenderableType

    from search.study.spec import StudySpec


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
    started_at: str = ""  # `hpsearch status --json`: when it started, ISO 8601 with its zone
    number: int | None = None  # the trial's number (the refit's: the trial it refits)
    kind: str = "trial"  # "trial", "race run" or "refit"

    def record(self) -> dict[str, Any]:
        """The row as `hpsearch status --json` gives it."""
        return {
            "trial": self.number,
            "kind": self.kind,
            "label": self.label,
            "params": self.params,
            "epoch": self.epoch,
            "epochs": self.of,
            "value": self.value,
            "started": self.started_at or None,
        }

    def elapsed(self) -> str:
        return duration(time.monotonic() - self.started)


@dataclass
class Tally:
    """The footer: how far the search is."""

    metric: str
    wanted: int | None  # finished trials; None where only search.budget's others stop it
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
            left = f"about {duration(self.left_seconds)} left"
        of = "" if self.wanted is None else f"/{self.wanted}"
        parts = [f"{self.finished}{of} trials finished", best]
        parts += [f"{self.epochs} epochs trained", left]
        return " · ".join(p for p in parts if p)


def tally_of(study: optuna.Study, spec: StudySpec) -> Tally:
    """The footer's counts from the storage: what a resumed run starts from."""
    trials = search_trials(study)
    best = best_or_none(study)
    return Tally(
        metric=spec.search.metric,
        wanted=spec.search.trial_limit,
        finished=sum(is_finished(t) for t in trials),
        epochs=sum(len(t.intermediate_values) for t in trials),
        best=(best.value, best.number) if best is not None else None,
    )


def status_table(rows: list[Running], metric: str, footer: str) -> RenderableType:
    """Running trials as a table, the footer under it."""

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


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
