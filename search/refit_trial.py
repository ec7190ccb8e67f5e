"""`hpsearch refit RUN --trial N`: refit and test any complete trial of a run, later.

Its results go to a run-directory entry of their own, `refits/trial-<N>/`, laid out as the run
directory's own results are (best_config.yaml, model.pt, model.onnx, test_metrics.json, ...), so
`load_best` reads it; nothing the search wrote is touched, and a trial refitted once is not
refitted again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from search.echo import Echo
from search.engine.cluster import share
from search.engine.refit import refit_best, trial_config
from search.errors import RunDirError
from search.preflight import checked_inputs, measure_and_check_resources
from search.run import RunResult
from search.rundir.layout import DataInfo, RunDir
from search.rundir.lock import RunLock
from search.rundir.results import write_results
from search.rundir.resume import load_run_study
from search.trials.attrs import RACE_OF, WARM_FROM, WARM_TRIAL
from search.trials.states import is_complete, is_race_run, is_warm, state_name
from trainable import counted


def refit_trial(
    run_dir: Path, number: int, *, verbose: bool = False, echo: Echo = print
) -> RunResult:

    run = RunDir(Path(run_dir))
    spec, study = load_run_study(run)
    trials = study.get_trials(deepcopy=False)
    if not 0 <= number < len(trials):
        raise RunDirError(
            f"--trial {number}: study {spec.name} has trials 0 to {len(trials) - 1}; "
            f"`hpsearch trials {run}` lists them"
        )
    trial = trials[number]
    if is_race_run(trial):  # its seed and split are the race's, not what a refit trains
        raise RunDirError(
            f"--trial {number}: trial {number} is a race run of trial "
            f"{trial.user_attrs[RACE_OF]}; refit trial {trial.user_attrs[RACE_OF]}, the "
            "configuration it raced"
        )
    if is_warm(trial):  # another study's trial, on its data
        raise RunDirError(
            f"--trial {number}: trial {number} came from {trial.user_attrs[WARM_FROM]} "
            f"(its trial {trial.user_attrs[WARM_TRIAL]}) as a warm start; refit it there"
        )
    if not is_complete(trial):
        raise RunDirError(
            f"--trial {number} is {state_name(trial)}: only a COMPLETE trial stands for a "
            f"configuration to refit; `hpsearch trials {run}` lists them"
        )
    target = RunDir(run.path / "refits" / f"trial-{number}")
    existing = target.read_summary()
    if existing is not None:
        echo(f"trial {number} is refitted already: {target}")
        return RunResult(target.path, existing, refitted=False)
    with RunLock(run):
        splits = checked_inputs(spec, verbose, echo, search=False)
        shared = share(splits)
        spec = measure_and_check_resources(spec, shared, echo)
        test = counted(len(splits.test), "image")
        echo(f"refit: trial {number} on train + val, then the test split ({test})")
        started = time.perf_counter()
        config = trial_config(trial, spec)
        refit = refit_best(config, trial, spec, shared, echo, on_epoch=_epoch_line(echo))
        seconds = {"refit": round(time.perf_counter() - started, 1)}
        target.write_spec(spec)
        summary = write_results(target, spec, study, refit, DataInfo.of(splits), seconds)
    return RunResult(target.path, summary, refitted=True)


def _epoch_line(echo: Echo) -> Callable[[int, int, str, dict], None]:
    def line(epoch: int, of: int, device: str, record: dict[str, float]) -> None:
        if epoch:
            loss = f", train_loss {record['train_loss']:.4f}" if "train_loss" in record else ""
            echo(f"refit: epoch {epoch}/{of} on {device}{loss}")

    return line
