"""The race before the refit, in words: the lines `hpsearch run` prints when it ends, and the
rows of report.html's race table."""

from __future__ import annotations

from search.report.progress import format_params
from search.trials.race import Contender, Standings


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
