"""`hpsearch run`'s race step (search.select: race): between the search and the refit, the best
few configurations run again on fresh draws (search/engine/race.py), and the progress says who
won. An interrupted race keeps its finished runs; the same command resumes it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from search.errors import SearchInterrupted
from search.study.spec import StudySpec

if TYPE_CHECKING:
    import optuna
    from ray import ObjectRef

    from search.engine.optuna_study import OpenStudy
    from search.report.live import Progress
    from trainable import Splits


def race_step(
    spec: StudySpec,
    run_dir: Path,
    splits: Splits,
    shared: ObjectRef,
    opened: OpenStudy,
    progress: Progress,
    verbose: bool,
) -> None:
    """Race the best few configurations on fresh draws; say who won."""
    from search.engine.optuna_study import fail_interrupted
    from search.engine.race import run_race
    from search.report.race import race_lines
    from search.rundir.layout import RunDir
    from search.rundir.results import write_trials

    try:
        outcome = run_race(
            spec,
            run_dir,
            splits,
            shared,
            opened,
            watch=progress,
            say=progress.say,
            verbose=verbose,
        )
    except KeyboardInterrupt:
        fail_interrupted(opened)
        raise _race_interrupted(opened.study, spec) from None
    finally:
        write_trials(RunDir(run_dir), opened.study, spec.search.metric)
    if outcome.interrupted:
        raise _race_interrupted(opened.study, spec)
    if outcome.standings is not None:
        for line in race_lines(outcome.standings, spec.search.metric):
            progress.say(line)


def _race_interrupted(study: optuna.Study, spec: StudySpec) -> SearchInterrupted:
    from search.trials.race import race_standings

    table = race_standings(study, spec)
    done = sum(len(c.runs) for c in table.contenders) if table else 0
    wanted = len(table.contenders) * table.repeats if table else 0
    return SearchInterrupted(
        f"interrupted during the race: {done} of {wanted} race runs finished and are kept "
        "(the search's trials too); run the same command again to resume"
    )


__all__ = ["race_step"]
