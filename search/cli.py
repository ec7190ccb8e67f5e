"""`hpsearch`: thin commands over the library; heavy imports wait until a command runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from search.run import RunResult
    from search.rundir.layout import RunDir

app = typer.Typer(
    help="Hyperparameter search for fine-tuning pretrained image classifiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(asked: bool) -> None:
    if asked:
        from search import __version__

        typer.echo(f"hpsearch {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Hyperparameter search for fine-tuning pretrained image classifiers."""


DEBUG = typer.Option(False, "--debug", help="Show the full traceback of an error.")


@contextmanager
def _user_errors(debug: bool) -> Iterator[None]:
    """A user's mistake is one line on stderr and exit status 2, unless --debug.

    A search that failed on its own is exit status 1; an interrupted one 130, as for Ctrl-C.
    """
    from search.errors import USER_ERRORS, SearchFailed, SearchInterrupted

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
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1 if isinstance(exc, SearchFailed) else 2) from None


@app.command()
def run(
    study: Path = typer.Argument(..., help="The study file (YAML)."),
    run_dir: Path = typer.Option(None, "--run-dir", help="Default: runs/<study name>."),
    restart: bool = typer.Option(
        False, "--restart", help="Move an earlier run aside (never deleted) and start over."
    ),
    dashboard: bool = typer.Option(
        False, "--dashboard", help="Serve optuna-dashboard beside the search."
    ),
    host: str = typer.Option("127.0.0.1", help="Dashboard host (0.0.0.0: other machines)."),
    port: int = typer.Option(8080, help="Dashboard port."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Ray's own output."),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print the result alone (run.log keeps every line)."
    ),
    debug: bool = DEBUG,
) -> None:
    """Search, refit the best configuration, test it once, write the run directory.

    Run it again on the same study to resume an interrupted search, or to extend a finished
    one after raising search.trials.
    """
    with _user_errors(debug):
        from search.run import run_study
        from search.study.spec import load_study_spec

        spec = load_study_spec(study)
        result = run_study(
            spec,
            run_dir,
            restart=restart,
            verbose=verbose,
            quiet=quiet,
            echo=typer.echo,
            dashboard=(host, port) if dashboard else None,
        )
        _print_result(result)


def _print_result(result: RunResult, chosen: str = "best") -> None:
    """The run's last lines, in run.log too; `chosen` names how its refitted trial was picked."""
    from search.rundir.run_log import append_to_log

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
    lines.append(f"test: {test.line()} ({summary.images['test']} images)")
    return [*lines, f"run directory: {result.run_dir}"]


class Format(str, Enum):
    yaml = "yaml"
    json = "json"


@app.command()
def best(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    format: Format = typer.Option(Format.yaml, "--format", help="yaml or json."),
    front: bool = typer.Option(
        False, "--front", help="List the trials on the front of the metric against latency."
    ),
    debug: bool = DEBUG,
) -> None:
    """Print the best configuration of a finished search, or with --front the trade-offs.

    --front lists the complete trials no other beats on both the metric and the latency.
    """
    with _user_errors(debug):
        from search.rundir.layout import RunDir
        from search.rundir.results import load_best

        if front:
            _print_front(RunDir(run_dir))
            return
        load_best(run_dir)  # checks the run finished
        run = RunDir(run_dir)
        path = run.best_config_json if format == Format.json else run.best_config_yaml
        typer.echo(path.read_text().rstrip())


def _print_front(run: RunDir) -> None:
    from search.report.front import front_head, front_rows
    from search.rundir.resume import load_run_study

    spec, study = load_run_study(run)
    summary = run.read_summary()
    rows = front_rows(study, spec, summary.best_trial if summary else None)
    if not rows:
        typer.echo("no complete trial with a measured serving cost yet")
        return
    head = front_head(spec.search.metric)
    widths = [max(len(str(c)) for c in column) for column in zip(head, *rows, strict=True)]
    for row in (head, *rows):
        typer.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@app.command()
def refit(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    trial: int = typer.Option(..., "--trial", help="The number of a complete trial."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Ray's own output."),
    debug: bool = DEBUG,
) -> None:
    """Refit any complete trial and test it once, into RUN_DIR/refits/trial-N/.

    Nothing the search wrote is touched; load_best reads the new folder as a run directory.
    """
    with _user_errors(debug):
        from search.refit_trial import refit_trial

        _print_result(refit_trial(run_dir, trial, verbose=verbose, echo=typer.echo), "refitted")


@app.command()
def trials(
    run_dir: Path = typer.Argument(..., help="A run directory (live while the search runs)."),
    debug: bool = DEBUG,
) -> None:
    """Print the table of trials, read from the study's storage."""
    with _user_errors(debug):
        import pandas as pd

        from search.rundir.layout import RunDir
        from search.rundir.results import trials_frame
        from search.rundir.resume import load_run_study

        spec, study = load_run_study(RunDir(run_dir))
        frame = trials_frame(study, spec.search.metric)
        if "node" in frame:
            frame["node"] = frame["node"].str[
                :8
            ]  # as `ray status` abbreviates; trials.csv is whole
        with pd.option_context(
            "display.max_rows",
            None,
            "display.width",
            200,
            "display.max_colwidth",
            60,
            "display.float_format",
            "{:.4g}".format,
        ):
            typer.echo(frame.to_string(index=False) if len(frame) else "no trials yet")


@app.command()
def status(
    run_dir: Path = typer.Argument(..., help="A run directory, running here, elsewhere or done."),
    debug: bool = DEBUG,
) -> None:
    """Show which trials run now and since when, how far the search is, and its result."""
    with _user_errors(debug):
        from rich.console import Console

        from search.report.status import run_status

        heading, table, closing = run_status(run_dir)
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        console.print(heading, markup=False, soft_wrap=True)
        console.print(table)
        for line in closing:
            console.print(line, markup=False, soft_wrap=True)


@app.command()
def dashboard(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    host: str = typer.Option("127.0.0.1", help="0.0.0.0 to serve other machines."),
    port: int = typer.Option(8080, help="Port to listen on."),
    debug: bool = DEBUG,
) -> None:
    """Serve optuna-dashboard on the study's storage (Ctrl-C stops it)."""
    with _user_errors(debug):
        from search.report.dashboard import serve

        try:
            serve(run_dir, host, port, announce=typer.echo)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


@app.command()
def report(
    run_dir: Path = typer.Argument(..., help="A run directory."),
    debug: bool = DEBUG,
) -> None:
    """Write report.html (and plots/) for a run directory, from its storage and results."""
    with _user_errors(debug):
        from search.report.page import write_report
        from search.rundir.layout import RunDir
        from search.rundir.resume import load_run_study

        run = RunDir(run_dir)
        spec, study = load_run_study(run)
        typer.echo(str(write_report(run, spec, study)))
