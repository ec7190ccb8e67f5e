"""`search.select: race` (or its settings alone): the best few configurations train again on
fresh draws before the refit, and the best mean wins.

The `top_k` best complete trials of the search (distinct configurations, within
search.constraints) are its contenders. Each is trained `repeats` more times, as a trial of its
own tagged `race_of` (search/trials/attrs.py): run i of every contender shares one training seed
and, where the study carves its validation split, one reshuffled train/val split of the same
pool (the test split never moves), so contenders are compared on the same draws. The winner is
the best mean over its race runs; the search's own value, the lucky draw that put it in the
race, is shown beside it but does not count. Why the mean and not a lower confidence bound:
with 1 or 2 runs a contender there is no variance to bound.

Everything here is a function of the storage: a resumed run finds the runs a killed one
finished, and runs only the rest (on Ray: search/selection/race_runs.py).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from search.selection.base import SELECTIONS, Section, Selection, ranked
from search.trials.attrs import FAIL_REASON, INTERRUPTED, RACE_OF, RACE_RUN
from search.trials.states import is_complete, is_failed, race_runs
from search.trials.values import format_params, minimizes, shown_params

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


@SELECTIONS.register
class Race(Selection):
    """The `top_k` best trials (distinct configurations) over `repeats` more runs each, on fresh
    seeds and, where the study carves its validation split, fresh train/val splits of the same
    pool."""

    type: Literal["race"] = "race"
    top_k: int = Field(3, ge=2, description="the best trials that race")
    repeats: int = Field(2, ge=1, description="more runs of each, on fresh seeds")
    reshuffle: bool = Field(True, description="each run on a fresh train/val split too")
    runs_before_pick: ClassVar[bool] = True
    winner: ClassVar[str] = "the race's winner"

    def describe(self) -> str:
        return "a race of the best"

    def contenders(self, study: optuna.Study, limits: dict[str, float]) -> list[FrozenTrial]:
        return top_distinct(ranked(study, limits), self.top_k)

    def standings(self, study: optuna.Study, limits: dict[str, float]) -> Standings | None:
        """The race as the storage holds it; None where there is none to run (fewer than two
        distinct complete configurations)."""
        return self._standings(study, ranked(study, limits))

    def pick(self, study: optuna.Study, limits: dict[str, float]) -> FrozenTrial | None:
        candidates = ranked(study, limits)
        table = self._standings(study, candidates)
        if table is None:
            return candidates[0] if candidates else None
        return next(t for t in candidates if t.number == table.winner.number)

    def _standings(self, study: optuna.Study, candidates: list[FrozenTrial]) -> Standings | None:
        racing = top_distinct(candidates, self.top_k)
        if len(racing) < 2:
            return None
        return standings(racing, race_runs(study), self.repeats, minimizes(study))

    def to_do(self, study: optuna.Study, limits: dict[str, float]) -> bool:
        table = self.standings(study, limits)
        return table is not None and not table.finished

    def summary(self, study: optuna.Study, limits: dict[str, float]) -> dict[str, Any]:
        table = self.standings(study, limits)
        return table.to_dict() if table is not None else {}

    def section(self, study: optuna.Study, limits: dict[str, float]) -> Section | None:
        table = self.standings(study, limits)
        if table is None:
            return None
        said = verdict(table).removeprefix("race: ")
        text = f"{said[:1].upper() + said[1:]}; the mean over race runs decides."
        header = ["trial", "parameters", "in the search", "race runs", "mean"]
        return Section("Race before the refit", text, header, race_rows(table))


def configuration(trial: FrozenTrial) -> tuple[tuple[str, str], ...]:
    """What a refit of `trial` would train: its parameters and the epochs its curve chose."""
    return tuple(sorted((k, repr(v)) for k, v in shown_params(trial).items()))


def top_distinct(trials: list[FrozenTrial], k: int) -> list[FrozenTrial]:
    """The first `k` of `trials` (best first) that train distinct configurations."""
    seen: set[tuple[tuple[str, str], ...]] = set()
    top = []
    for trial in trials:
        key = configuration(trial)
        if key not in seen:
            seen.add(key)
            top.append(trial)
        if len(top) == k:
            break
    return top


@dataclass(frozen=True)
class RaceRun:
    """One run the race needs: contender `of`'s run `run`, with its seeds."""

    of: int
    run: int
    seed: int  # the training seed
    split_seed: int | None  # the train/val split's seed; None: the study's own split
    attempt: int = 1  # 2 for the retry of a run that raised, ...


def run_seeds(run: int, train_seed: int, split_seed: int | None) -> tuple[int, int | None]:
    """Run i's seeds: the study's own, moved on by i (the search trained on run 0's)."""
    return train_seed + run, None if split_seed is None else split_seed + run


@dataclass(frozen=True)
class Contender:
    number: int  # the search trial
    value: float  # its value in the search: the draw that put it in the race
    params: dict[str, Any]  # as shown: sampled parameters, and the epochs its curve chose
    runs: dict[int, float]  # race run -> its value, for the complete ones
    out: str | None = None  # why it left the race: a run failed by itself

    def mean(self, repeats: int) -> float | None:
        """The mean over its race runs, once all `repeats` are in; None before, or if out."""
        if self.out is not None or len(self.runs) < repeats:
            return None
        return statistics.fmean(self.runs[i] for i in range(1, repeats + 1))

    def to_dict(self, repeats: int) -> dict[str, Any]:
        return {
            "trial": self.number,
            "search_value": self.value,
            "params": self.params,
            "runs": [self.runs.get(i) for i in range(1, repeats + 1)],
            "mean": self.mean(repeats),
            "out": self.out,
        }


@dataclass(frozen=True)
class Standings:
    """The race as the storage holds it: contenders best first by their search value."""

    contenders: list[Contender]
    repeats: int
    minimize: bool

    @property
    def finished(self) -> bool:
        return all(c.out is not None or len(c.runs) >= self.repeats for c in self.contenders)

    @property
    def winner(self) -> Contender:
        """The best mean; the single best trial when no contender finished its runs."""
        scored = [(c.mean(self.repeats), i, c) for i, c in enumerate(self.contenders)]
        finished = [(m, i, c) for m, i, c in scored if m is not None]
        if not finished:
            return self.contenders[0]
        sign = 1 if self.minimize else -1
        return min(finished, key=lambda s: (sign * s[0], s[1]))[2]

    @property
    def changed(self) -> bool:
        """The race crowned another configuration than the single best draw."""
        return self.winner.number != self.contenders[0].number

    def to_dict(self) -> dict[str, Any]:
        """summary.json's `race`."""
        return {
            "repeats": self.repeats,
            "contenders": [c.to_dict(self.repeats) for c in self.contenders],
            "winner": self.winner.number,
            "single_best": self.contenders[0].number,
            "changed": self.changed,
        }


def standings(
    contenders: list[FrozenTrial], runs: list[FrozenTrial], repeats: int, minimize: bool
) -> Standings:
    """Each contender's race runs: complete ones count, one that failed by itself puts it out
    (a configuration that fails on another seed is not a safe choice); interrupted ones are
    run again."""
    by_contender: dict[int, list[FrozenTrial]] = {}
    for trial in runs:
        by_contender.setdefault(int(trial.user_attrs[RACE_OF]), []).append(trial)
    entries = []
    for trial in contenders:
        values: dict[int, float] = {}
        failed: dict[int, str] = {}
        for run in by_contender.get(trial.number, []):
            index = int(run.user_attrs[RACE_RUN])
            if index > repeats:
                continue  # from a race with more repeats, before search.select changed
            if is_complete(run):
                values.setdefault(index, float(run.value))
            elif is_failed(run) and run.user_attrs.get(FAIL_REASON) != INTERRUPTED:
                reason = run.user_attrs.get(FAIL_REASON, "failed")
                why = f"its race run {index} (trial {run.number}) failed: {reason}"
                failed.setdefault(index, why)
        out = next((why for index, why in sorted(failed.items()) if index not in values), None)
        entries.append(
            Contender(trial.number, float(trial.value), shown_params(trial), values, out)
        )
    return Standings(entries, repeats, minimize)


def missing_runs(
    table: Standings, train_seeds: dict[int, int], split_seed: int | None
) -> list[RaceRun]:
    """The runs the race still needs, run by run (every contender's first run, then every
    second), so an interrupted race has compared all contenders on the same draws so far.
    `train_seeds`: each contender's own training seed (the one its search trial ran)."""
    missing = []
    for run in range(1, table.repeats + 1):
        for contender in table.contenders:
            if contender.out is None and run not in contender.runs:
                seed, split = run_seeds(run, train_seeds[contender.number], split_seed)
                missing.append(RaceRun(contender.number, run, seed, split))
    return missing


def verdict(table: Standings) -> str:
    winner, single = table.winner, table.contenders[0]
    if not table.finished:
        return f"race: not finished; trial {winner.number} leads"
    if table.changed:
        return (
            f"race: trial {winner.number} wins over trial {single.number}, the single best draw "
            "of the search"
        )
    return f"race: trial {winner.number}, the single best draw of the search, wins it too"


def race_lines(table: Standings, metric: str) -> list[str]:
    """One line a contender, best first by search value, then who won."""
    winner = table.winner.number
    lines = []
    for contender in table.contenders:
        runs = " ".join(_value(v) for v in _runs(contender, table.repeats))
        mean = contender.mean(table.repeats)
        standing = f"out: {contender.out}" if contender.out else f"mean {_value(mean)}"
        mark = "  <- refitted" if contender.number == winner and table.finished else ""
        lines.append(
            f"race: trial {contender.number:>3}  {metric} {contender.value:.4f} in the search | "
            f"runs {runs} | {standing}{mark}"
        )
    return [*lines, verdict(table)]


def race_rows(table: Standings) -> list[tuple[str, ...]]:
    """Trial, parameters, search value, each run's value, mean (or why it is out)."""
    rows = []
    for contender in table.contenders:
        mean = contender.mean(table.repeats)
        won = " (winner)" if contender.number == table.winner.number and table.finished else ""
        rows.append(
            (
                f"{contender.number}{won}",
                format_params(contender.params),
                _value(contender.value),
                " ".join(_value(v) for v in _runs(contender, table.repeats)),
                f"out: {contender.out}" if contender.out else _value(mean),
            )
        )
    return rows


def _runs(contender: Contender, repeats: int) -> list[float | None]:
    return [contender.runs.get(i) for i in range(1, repeats + 1)]


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


__all__ = [
    "Contender",
    "Race",
    "RaceRun",
    "Standings",
    "missing_runs",
    "race_lines",
    "race_rows",
    "standings",
    "top_distinct",
    "verdict",
]
