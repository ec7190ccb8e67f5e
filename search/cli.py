"""`hpsearch`: thin commands over the library; heavy imports wait until a command runs."""

from __future__ import annotations

import json as json_module
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer
import typer.core
from rich.console import Console

from search.cli_output import plain_when_piped, print_front, print_result, user_errors

# Each command imports what it runs inside it: importing every command's modules here would
# pull torch, torchvision and Ray into `hpsearch --version` (9 s against 0.5 s, measured).
app = typer.Typer(
    help="Hyperparameter search for fine-tuning pretrained image classifiers.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # click's own help: STUDY, --restart, not {study} and <bool>
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _ClickHelp(typer.core.TyperCommand):
    """A command's help as click prints it: `Usage: hpsearch run [OPTIONS] STUDY` and an
    argument listed by its name alone (typer 0.29 prints `{study}` and `study <path>`)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        arguments = [p.metavar for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return [self.options_metavar or "", *arguments]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"argument": [], "option": []}
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                sections["argument"].append((param.metavar, param.help or ""))
            elif (record := param.get_help_record(ctx)) is not None:
                sections["option"].append(record)
        for kind, rows in sections.items():
            if rows:
                with formatter.section(f"{kind.title()}s"):
                    formatter.write_dl(rows)


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
    plain_when_piped()


DEBUG = typer.Option(False, "--debug", help="Show the full traceback of an error.")


@app.command(cls=_ClickHelp, short_help="Search, refit the best configuration, test it once.")
def run(
    study: Path = typer.Argument(..., metavar="STUDY", help="The study file (YAML)."),
    run_dir: Path = typer.Option(
        None, "--run-dir", metavar="PATH", help="Default: runs/<study name>."
    ),
    restart: bool = typer.Option(
        False, "--restart", help="Move an earlier run aside (never deleted) and start over."
    ),
    dashboard: bool = typer.Option(
        False, "--dashboard", help="Serve optuna-dashboard beside the search."
    ),
    host: str = typer.Option(
        "127.0.0.1", metavar="HOST", help="Dashboard host (0.0.0.0: other machines)."
    ),
    port: int = typer.Option(8080, metavar="PORT", help="Dashboard port."),
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
    with user_errors(debug):
        from search.check import StudyProblems, check_study
        from search.run import run_study

        checked = check_study(study)  # every problem at once, before anything starts
        if checked.spec is None or not checked.ok:
            raise StudyProblems(checked.problems)
        result = run_study(
            checked.spec,
            run_dir,
            restart=restart,
            verbose=verbose,
            quiet=quiet,
            echo=typer.echo,
            dashboard=(host, port) if dashboard else None,
        )
        print_result(result)


@app.command(cls=_ClickHelp, short_help="Check a study file: every problem at once.")
def check(
    study: Path = typer.Argument(..., metavar="STUDY", help="The study file (YAML)."),
    debug: bool = DEBUG,
) -> None:
    """Check a study file without starting it: every problem at once, a line each.

    The fields, then the data folder, each backbone and its weights, the warm-start studies,
    the storage and the Ray address; the same checks `hpsearch run` makes first.
    """
    with user_errors(debug):
        from search.check import StudyProblems, check_study

        checked = check_study(study)
        if not checked.ok:
            raise StudyProblems(checked.problems)
        typer.echo(f"{study}: ok")
        for line in checked.found:
            typer.echo(f"  {line}")


class Format(str, Enum):
    yaml = "yaml"
    json = "json"


@app.command(cls=_ClickHelp, short_help="Print the best configuration (--front: the trade-offs).")
def best(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run directory."),
    format: Format = typer.Option(
        Format.yaml, "--format", metavar="[yaml|json]", help="yaml or json."
    ),
    front: bool = typer.Option(
        False, "--front", help="List the trials on the front of the metric against latency."
    ),
    debug: bool = DEBUG,
) -> None:
    """Print the best configuration of a finished search, or with --front the trade-offs.

    --front lists the complete trials no other beats on both the metric and the latency.
    """
    with user_errors(debug):
        from search.rundir.layout import RunDir
        from search.rundir.results import load_best

        if front:
            print_front(RunDir(run_dir))
            return
        load_best(run_dir)  # checks the run finished
        run = RunDir(run_dir)
        path = run.best_config_json if format == Format.json else run.best_config_yaml
        typer.echo(path.read_text().rstrip())


@app.command(cls=_ClickHelp, short_help="Refit and test any complete trial, later.")
def refit(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run directory."),
    trial: int = typer.Option(..., "--trial", metavar="N", help="The number of a complete trial."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Ray's own output."),
    debug: bool = DEBUG,
) -> None:
    """Refit any complete trial and test it once, into RUN_DIR/refits/trial-N/.

    Nothing the search wrote is touched; load_best reads the new folder as a run directory.
    """
    with user_errors(debug):
        from search.refit_trial import refit_trial

        print_result(refit_trial(run_dir, trial, verbose=verbose, echo=typer.echo), "refitted")


@app.command(cls=_ClickHelp, short_help="Print the table of trials, from the storage.")
def trials(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="A run directory (live while the search runs)."
    ),
    json: bool = typer.Option(False, "--json", help="A JSON list, one object a trial."),
    debug: bool = DEBUG,
) -> None:
    """Print the table of trials, read from the study's storage."""
    with user_errors(debug):
        import pandas as pd

        from search.rundir.layout import RunDir
        from search.rundir.results import shown_frame, trial_records, trials_frame
        from search.rundir.resume import load_run_study

        spec, study = load_run_study(RunDir(run_dir))
        frame = trials_frame(study, spec.search.metric)
        if json:  # exact values, null for nothing
            typer.echo(json_module.dumps(trial_records(frame), indent=2))
            return
        if "node" in frame:
            frame["node"] = frame["node"].str[:8]  # as `ray status` abbreviates them
        shown = shown_frame(frame)
        with pd.option_context("display.max_rows", None, "display.width", 200):
            typer.echo(shown.to_string(index=False) if len(frame) else "no trials yet")


@app.command(cls=_ClickHelp, short_help="Show running trials, how far the search is, its result.")
def status(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="A run directory, running here, elsewhere or done."
    ),
    json: bool = typer.Option(False, "--json", help="One JSON object, for scripts."),
    debug: bool = DEBUG,
) -> None:
    """Show which trials run now and since when, how far the search is, and its result."""
    with user_errors(debug):
        from search.report.status import run_status

        status = run_status(run_dir)
        if json:
            typer.echo(json_module.dumps(status.record, indent=2))
            return
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        console.print(status.heading, markup=False, soft_wrap=True)
        console.print(status.renderable())
        for line in status.closing:
            console.print(line, markup=False, soft_wrap=True)


@app.command(cls=_ClickHelp, short_help="Serve optuna-dashboard on the study's storage.")
def dashboard(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run directory."),
    host: str = typer.Option("127.0.0.1", metavar="HOST", help="0.0.0.0 to serve other machines."),
    port: int = typer.Option(8080, metavar="PORT", help="Port to listen on."),
    debug: bool = DEBUG,
) -> None:
    """Serve optuna-dashboard on the study's storage (Ctrl-C stops it)."""
    with user_errors(debug):
        from search.report.dashboard import serve

        try:
            serve(run_dir, host, port, announce=typer.echo)
        except KeyboardInterrupt:
            raise typer.Exit(0) from None


@app.command(cls=_ClickHelp, short_help="Send a run directory's study to MLflow.")
def track(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run directory."),
    mlflow: str = typer.Option(
        None, "--mlflow", metavar="URI", help="MLflow's URI; default: the study file's tracking."
    ),
    debug: bool = DEBUG,
) -> None:
    """Send a run directory's study to MLflow: what it does not hold yet of the trials, the
    refit and its model, as `hpsearch run` does with tracking: in the study file."""
    with user_errors(debug):
        from search.errors import RunDirError
        from search.rundir.layout import RunDir
        from search.rundir.lock import held_by
        from search.rundir.resume import load_run_study
        from search.tracking import Tracker, TrackingError, registered

        run = RunDir(run_dir)
        spec, study = load_run_study(run)
        holder = held_by(run)
        if holder:
            raise RunDirError(
                f"{run} is still running ({holder}); a study file with tracking: sends its "
                "trials as they finish, else track it once the run ends"
            )
        tracker = Tracker(spec, study, run.storage_url(spec), typer.echo, uri=mlflow)
        summary = tracker.finish(run, run.read_summary())
        if tracker.down is not None:
            raise TrackingError(
                f"MLflow at {tracker.shown} failed ({tracker.down}); nothing is lost: run "
                "hpsearch track again once it answers"
            )
        typer.echo(
            f"study {spec.name} in MLflow at {tracker.shown}, experiment {tracker.experiment}: "
            f"{len(tracker.sent())} trial runs, {tracker.sent_now} of them sent now"
        )
        if summary is not None and summary.mlflow:
            typer.echo(f"refit of trial {summary.best_trial}: {registered(summary)}")


@app.command(cls=_ClickHelp, short_help="Write report.html and plots/ for a run directory.")
def report(
    run_dir: Path = typer.Argument(..., metavar="RUN_DIR", help="A run directory."),
    debug: bool = DEBUG,
) -> None:
    """Write report.html (and plots/) for a run directory, from its storage and results."""
    with user_errors(debug):
        from search.report.page import write_report
        from search.rundir.layout import RunDir
        from search.rundir.lock import held_by
        from search.rundir.resume import load_run_study

        run = RunDir(run_dir)
        spec, study = load_run_study(run)
        typer.echo(str(write_report(run, spec, study)))
        if run.read_summary() is None:  # a report of the trials so far, and it says so
            holder = held_by(run)
            why = f"still running ({holder})" if holder else "not finished; nothing runs it now"
            typer.echo(f"note: the trials so far, no test result: the run is {why}", err=True)
