"""A rerun of a study that has nothing left to do answers in seconds: no Ray, no data, no model.

Nothing is left when the run directory holds a finished run of the same study, the storage
holds the trials its budget asks for (or the budget is spent), its race has run, and the trial
to refit is still the one refitted (by number, parameters and value). Anything else, or any
doubt (a storage that does not answer, a study file that changed what it searches), goes the
usual way, which says what is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.echo import Echo
from search.rundir.layout import RunDir, Summary
from search.start.starts import starts_to_add
from search.study.spec import StudySpec

if TYPE_CHECKING:
    import optuna


def finished_before(run: RunDir, spec: StudySpec, echo: Echo) -> Summary | None:
    """The run directory's result, said so, when running `spec` there would add nothing."""
    done = _finished(run, spec)
    if done is not None:
        echo(
            f"nothing new to run: study {spec.name} holds what search.trials and the budget "
            f"ask for, and its refit of trial {done.best_trial} is in {run}; raise them to "
            "search on"
        )
    return done


def _finished(run: RunDir, spec: StudySpec) -> Summary | None:
    from search.errors import HPSearchError
    from search.rundir.resume import check_resumable

    if run.read_summary() is None:
        return None
    try:
        check_resumable(run, spec)
        study = _study(run, spec)
    except (HPSearchError, KeyError):
        return None
    if not _searched(study, spec) or _race_to_run(study, spec) or starts_to_add(study, spec):
        return None
    from search.engine.refit import best_config
    from search.rundir.resume import finished_results

    try:
        _, best = best_config(study, spec)
    except HPSearchError:
        return None
    return finished_results(run, best)


def _study(run: RunDir, spec: StudySpec) -> optuna.Study:
    import optuna

    from search.rundir.storage import open_storage

    return optuna.load_study(study_name=spec.name, storage=open_storage(run.storage_url(spec)))


def _searched(study: optuna.Study, spec: StudySpec) -> bool:
    """The trials are there, or the budget is spent."""
    from search.budget import Spend
    from search.trials.states import finished_count

    finished = finished_count(study)
    wanted = spec.search.trial_limit
    if wanted is not None and finished >= wanted:
        return True
    gpus = spec.resources.gpus_per_trial
    spend = Spend(study, spec.search.stop, 0.0 if gpus == "auto" else float(gpus))
    return spend.reached(finished) is not None


def _race_to_run(study: optuna.Study, spec: StudySpec) -> bool:
    return spec.search.select.to_do(study, spec.search.constraints.limits)


__all__ = ["finished_before"]
