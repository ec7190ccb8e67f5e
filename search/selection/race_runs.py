"""The race on Ray (search/selection/race.py says what it is and who wins): between the search
and the refit, each race run is a trial of its own in the study, spread over the cluster like
the search's trials (the same resources, concurrency and objective), never pruned.

Its Optuna trials are tagged and carry their contender's parameters, so the dashboard and
trials.csv show them beside the search's; only the runs the storage does not hold yet run. An
interrupted race keeps its finished runs; the same command resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState, create_trial

from search.echo import Echo
from search.engine.live_trials import LiveTrials
from search.engine.optuna_internals import running_trial
from search.engine.optuna_study import OpenStudy, fail_interrupted
from search.engine.refit import trial_config
from search.engine.searcher import OptunaSearcher, Watcher
from search.engine.tuner import fit_quietly, tuner_for
from search.errors import SearchInterrupted
from search.rundir.layout import RunDir
from search.rundir.results import write_trials
from search.selection.race import Race, RaceRun, Standings, missing_runs, race_lines
from search.study.spec import StudySpec
from search.trials.attrs import (
    ATTEMPT,
    CHOSEN_EPOCHS,
    RACE_OF,
    RACE_RUN,
    RACE_SEED,
    RACE_SPLIT_SEED,
    RAY_TRIAL_ID,
)
from search.trials.serving import COST_KEYS

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial
    from ray import ObjectRef

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


def _race_of(spec: StudySpec) -> Race:
    select = spec.search.select
    if not isinstance(select, Race):
        raise TypeError(f"search.select is {select.type}, not a race")
    return select


def _race_interrupted(study: optuna.Study, spec: StudySpec) -> SearchInterrupted:
    table = _race_of(spec).standings(study, spec.search.constraints.limits)
    done = sum(len(c.runs) for c in table.contenders) if table else 0
    wanted = len(table.contenders) * table.repeats if table else 0
    return SearchInterrupted(
        f"interrupted during the race: {done} of {wanted} race runs finished and are kept "
        "(the search's trials too); run the same command again to resume"
    )


@dataclass(frozen=True)
class RaceOutcome:
    standings: Standings | None
    interrupted: list[int]  # race runs that were running when the race stopped early


def run_race(
    spec: StudySpec,
    run_dir: Path,
    splits: Splits,
    shared: Splits | ObjectRef,
    opened: OpenStudy,
    *,
    watch: Watcher | None,
    say: Echo,
    verbose: bool = False,
) -> RaceOutcome:
    """Run the race runs the storage lacks, then read the standings back.

    `splits` tells whether validation can be reshuffled; `shared` is what trials read.
    """
    study, race = opened.study, _race_of(spec)
    table = race.standings(study, spec.search.constraints.limits)
    if table is None:
        say("race: none, fewer than two distinct complete configurations to race")
        return RaceOutcome(None, [])
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    configs = {c.number: trial_config(by_number[c.number], spec) for c in table.contenders}
    reshuffle = race.reshuffle and splits.carved_val
    split_seed = spec.data.seed if reshuffle else None
    seeds = {n: config.seed for n, config in configs.items()}
    missing = missing_runs(table, seeds, split_seed)
    say(_header(table, len(missing), reshuffle, race.reshuffle))
    if missing:
        live = LiveTrials()
        searcher = RaceSearcher(
            opened,
            missing,
            {n: c.model_dump() for n, c in configs.items()},
            by_number,
            live,
            metric=spec.search.metric,
            retries=spec.search.retries,
            watch=watch,
        )
        fit_quietly(tuner_for(spec, run_dir, shared, searcher, live, verbose, race=True), verbose)
    interrupted = fail_interrupted(opened)
    return RaceOutcome(race.standings(study, spec.search.constraints.limits), interrupted)


def _header(table: Standings, missing: int, reshuffled: bool, asked: bool) -> str:
    numbers = ", ".join(str(c.number) for c in table.contenders)
    draws = "fresh seeds and train/val splits" if reshuffled else "fresh seeds"
    if asked and not reshuffled:
        draws += " (the study's validation split is given as is)"
    total = len(table.contenders) * table.repeats
    left = f"{missing} of {total} runs to go" if missing else f"all {total} runs already ran"
    repeats = f"{table.repeats} more run{'s' * (table.repeats != 1)}"
    return (
        f"race: the {len(table.contenders)} best configurations (trials {numbers}), "
        f"{repeats} each on {draws}; {left}"
    )


class RaceSearcher(OptunaSearcher):
    """Hands Ray the race runs still missing, each as a new Optuna trial with its contender's
    parameters and tags; told back like any trial (curves, placement, FAIL reasons), with the
    value of the epoch it ends on: the one its contender's refit would train to."""

    def __init__(
        self,
        opened: OpenStudy,
        runs: list[RaceRun],
        configs: dict[int, dict[str, Any]],
        trials: dict[int, FrozenTrial],
        live: LiveTrials,
        *,
        metric: str,
        retries: int,
        watch: Watcher | None,
    ) -> None:
        super().__init__(
            opened.study,
            {},
            live,
            metric=metric,
            target=len(runs),
            failure_budget=len(runs),  # a failed run puts its contender out; the race goes on
            retries=retries,
            watch=watch,
        )
        self.storage = opened.storage
        self.pending, self.configs, self.trials = list(runs), configs, trials
        self.runs: dict[int, RaceRun] = {}  # Optuna trial number -> the run it is

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        from ray.tune.search import Searcher

        if not self.pending:  # None while runs run: one that raises runs again
            return None if len(self.live) else Searcher.FINISHED
        run = self.pending.pop(0)
        trial = self._new_trial(run)
        trial.set_user_attr(RAY_TRIAL_ID, trial_id)
        self.runs[trial.number] = run
        self.live.start(trial_id, trial)
        if self.watch is not None:
            self.watch.started(trial)
        config = {**self.configs[run.of], "seed": run.seed}
        if run.split_seed is not None:
            config[RACE_SPLIT_SEED] = run.split_seed
        return config

    def _new_trial(self, run: RaceRun) -> optuna.trial.Trial:
        """A RUNNING trial with the contender's parameters (and distributions), so the
        dashboard shows it among the search's; never sampled, never queued (a WAITING trial
        would be the next search's)."""

        contender = self.trials[run.of]
        attrs: dict[str, Any] = {
            RACE_OF: run.of,
            RACE_RUN: run.run,
            RACE_SEED: run.seed,
            CHOSEN_EPOCHS: int(self.configs[run.of]["epochs"]),
        }
        attrs.update({k: contender.user_attrs[k] for k in COST_KEYS if k in contender.user_attrs})
        if run.split_seed is not None:
            attrs[RACE_SPLIT_SEED] = run.split_seed
        if run.attempt > 1:
            attrs[ATTEMPT] = run.attempt
        template = create_trial(
            state=TrialState.RUNNING,
            params=contender.params,
            distributions=contender.distributions,
            user_attrs=attrs,
        )
        return running_trial(self.study, self.storage, template)

    def _maybe_retry(self, failed: FrozenTrial) -> None:
        """A run that raised runs again (up to search.retries times), as a search trial
        would; one that failed by itself puts its contender out."""
        run = self.runs.get(failed.number)
        if run is not None and run.attempt <= self.retries:
            self.pending.append(replace(run, attempt=run.attempt + 1))


__all__ = ["RaceOutcome", "RaceSearcher", "race_step", "run_race"]
