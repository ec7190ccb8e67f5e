"""What the `hpsearch` commands share: one line (or one a problem) for a user's mistake, and
the lines a finished run ends with."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

import typer

from search.errors import USER_ERRORS, SearchFailed, SearchInterrupted
from search.report.front import front_head, front_rows
from search.rundir.resume import load_run_study
from search.rundir.run_log import append_to_log
from trainable import counted

if TYPE_CHECKING:
    from search.run import RunResult
    from search.rundir.layout import RunDir


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # a colour or cursor code


class _Plain:
    """A text stream that drops colour codes on the way through."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(ANSI.sub("", text))
        return len(text)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def plain_when_piped() -> None:
    """Colour codes (Ray colours some of its warnings) stripped from what goes to a file or a
    pipe; a terminal keeps them."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not stream.isatty() and not isinstance(stream, _Plain):
            setattr(sys, name, _Plain(stream))


@contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """A user's mistake is one line on stderr and exit status 2, unless --debug.

    A search that failed on its own is exit status 1; an interrupted one 130, as for Ctrl-C.
    """

    try:
        yield
    except SearchInterrupted as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        typer.echo("interrupted before the search started; nothing was written", err=True)
        raise typer.Exit(130) from None
    except USER_ERRORS as exc:
        if debug:
            raise
        for line in str(exc).splitlines():  # a study with several problems: a line each
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(1 if isinstance(exc, SearchFailed) else 2) from None


def print_result(result: RunResult, chosen: str = "best") -> None:
    """The run's last lines, in run.log too; `chosen` names how its refitted trial was picked."""

    lines = _result_lines(result, chosen)
    for line in lines:
        typer.echo(line)
    append_to_log(result.run_dir, lines)


def _result_lines(result: RunResult, chosen: str) -> list[str]:
    summary, test = result.summary, result.summary.test
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(summary.trials.items()))
    lines = [f"trials: {states}"]
    value = f"{summary.metric} {summary.best_value:.4f}"
    race = summary.race
    mean = next(
        (c["mean"] for c in race.get("contenders", []) if c["trial"] == race["winner"]), None
    )
    if mean is not None and chosen == "best":  # the race's winner: its mean says more
        value += f" in the search, {mean:.4f} the mean of {race['repeats']} race runs"
        chosen = "race winner"
    lines.append(f"{chosen}: trial {summary.best_trial}, {value}")
    lines.append(f"test: {test.line()} ({counted(summary.images['test'], 'image')})")
    return [*lines, f"run directory: {result.run_dir}"]


def print_front(run: RunDir) -> None:

    spec, study = load_run_study(run)
    summary = run.read_summary()
    if not spec.weighs_serving_cost:
        typer.echo(
            f"study {spec.name} weighs no serving cost (one backbone, no bound in "
            "search.constraints), so none was measured; search.constraints.measure: true "
            "measures it"
        )
        return
    rows = front_rows(study, spec, summary.best_trial if summary else None)
    if not rows:
        typer.echo("no complete trial with a measured serving cost yet")
        return
    head = front_head(spec.search.metric)
    widths = [max(len(str(c)) for c in column) for column in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


__all__ = ["plain_when_piped", "print_front", "print_result", "user_errors"]
