"""What `hpsearch run` prints: one line a finished trial instead of Ray's status tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from search.echo import Echo
from search.trials.attrs import (
    CHOSEN_EPOCHS,
    FAIL_REASON,
    INFEASIBLE,
    RACE_OF,
    RACE_RUN,
    RACE_SEED,
    RACE_SPLIT_SEED,
)
from search.trials.states import (
    is_complete,
    is_failed,
    is_infeasible,
    is_race_run,
    is_stopped,
    state_name,
)
from search.trials.values import best_or_none, format_params, last_value, shown_params
from search.urls import masked

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from search.study.spec import StudySpec


class TrialPrinter:
    """Called by the searcher with each trial it tells: prints number, state, value, params."""

    def __init__(self, metric: str, echo: Echo = print) -> None:
        self.metric, self.echo = metric, echo

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        epochs = len(trial.intermediate_values)
        if is_failed(trial):  # the whole reason is in trials.csv and the dashboard
            outcome = _shorten(str(trial.user_attrs.get(FAIL_REASON, "failed")), 140)
        elif is_infeasible(trial):  # told to the sampler, never trained
            outcome = f"not trained: {trial.user_attrs[INFEASIBLE]}"
        else:
            value = last_value(trial)
            value = float("nan") if value is None else value
            outcome = f"{self.metric} {value:.4f} after {epochs} epoch{'s' * (epochs != 1)}"
            chosen = trial.user_attrs.get(CHOSEN_EPOCHS)
            if is_complete(trial) and chosen is not None and chosen != epochs:
                outcome = f"{self.metric} {value:.4f} at epoch {chosen} of {epochs}"
            if is_stopped(trial) and is_complete(trial):  # STOPPED says it for the others
                outcome += " (budget)"
        if is_race_run(trial):  # its parameters are its contender's: the seeds say what differs
            attrs = trial.user_attrs
            split = attrs.get(RACE_SPLIT_SEED)
            draws = f"seed {attrs[RACE_SEED]}" + ("" if split is None else f", split {split}")
            self.echo(
                f"race: trial {attrs[RACE_OF]} run {attrs[RACE_RUN]} {state_name(trial):<8} "
                f"{outcome}  (trial {trial.number}, {draws})"
            )
            return
        self.echo(
            f"trial {trial.number:>3} {state_name(trial):<8} {outcome:<32} "
            f"{format_params(shown_params(trial))}{_best(study)}"
        )


def _best(study: optuna.Study) -> str:
    best = best_or_none(study)
    return "" if best is None else f"  | best {best.value:.4f} (#{best.number})"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def study_line(spec: StudySpec, url: str) -> str:
    """The line a run opens with: the study, how it searches, where it is stored."""

    search = spec.search
    stop = f"{search.trials} trials" if search.budget is None else f"budget {search.stop.shown()}"
    return (
        f"study {spec.name}: {stop}, {search.concurrency} at a time, "
        f"{search.sampler.type} sampler, {search.pruner.type} pruner, storage {masked(url)}"
    )
