"""A Ray Tune `Searcher` over Optuna's ask/tell.

`suggest()` asks the Optuna study for a trial over the study's space; `on_trial_complete()`
tells it how the trial ended: COMPLETE with its final metric, PRUNED when the pruning scheduler
stopped it, FAIL (with the reason as a user attr) when it raised or reported a failure. Every
Optuna trial carries its Ray trial id as the user attr `ray_trial_id`.

The searcher decides when the study is done: it stops suggesting once the study holds
`target` finished (complete or pruned) trials, counting those still running, or once the
failure budget is spent. That makes a resumed or extended study need no bookkeeping of its own.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol

from optuna.trial import TrialState
from ray.tune.search import Searcher

from search.engine.live_trials import LiveTrial, LiveTrials
from search.errors import SearchFailed
from search.trials.attrs import (
    ATTEMPT,
    CHOSEN_EPOCHS,
    FAIL_REASON,
    GPUS,
    HISTORY,
    INFEASIBLE,
    NODE,
    PER_TAG,
    RAY_TRIAL_ID,
    RETRY_OF,
    STOPPED,
    TRAIN_SECONDS,
)
from search.trials.curves import add_epoch, per_tag, to_history
from search.trials.serving import COST_KEYS, broken, excess
from search.trials.states import failed_trials, finished_count
from search.trials.values import minimizes

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

    from search.budget import Spend
    from search.engine.serving import Serving
    from search.study.epochs import TrialEpochs

MAX_DRAWS = 1000  # asks for one trial within search.constraints before giving up
# Attributes of the searcher and scheduler that reach the Optuna study (and its storage URL).
HOLD_THE_STUDY = frozenset({"study", "storage", "live", "watch", "serving", "spend"})


def outcome(
    value: Any,
    *,
    metric: str,
    error: bool = False,
    failed: str | None = None,
    pruned: bool = False,
    raised: str | None = None,
) -> tuple[TrialState, float | None, str | None]:
    """How a trial ended -> (state, value, fail reason), from what Ray tells the searcher.

    `value`: the trial's metric (the epoch its curve chose); `error`: the trial raised
    (`raised` is the exception line the scheduler kept); `failed`: a failure the trial reported
    itself; `pruned`: the scheduler stopped it. Anything else is COMPLETE with a finite value,
    or a FAIL that says why not.
    """

    if error or failed:
        return TrialState.FAIL, None, str(failed or raised or "the trial raised an error")
    if pruned:
        return TrialState.PRUNED, None, None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return TrialState.COMPLETE, float(value), None
    return TrialState.FAIL, None, f"the trial ended without a finite {metric} (got {value!r})"


class Watcher(Protocol):
    """Told what the searcher sees, as it sees it: the progress display."""

    def started(self, trial: optuna.trial.Trial) -> None: ...
    def epoch(self, trial: optuna.trial.Trial, result: dict[str, Any]) -> None: ...
    def finished(self, study: optuna.Study, trial: FrozenTrial) -> None: ...


class OptunaSearcher(Searcher):
    """Optuna ask/tell behind Ray Tune's Searcher interface."""

    def __init__(
        self,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        live: LiveTrials,
        *,
        metric: str,
        target: int | None,
        failure_budget: int,
        retries: int = 0,
        trial_epochs: TrialEpochs | None = None,
        watch: Watcher | None = None,
        serving: Serving | None = None,
        spend: Spend | None = None,
    ) -> None:
        # Ray is not told the metric: it would then reject the result a failing trial reports
        # ({"failed": reason}, no metric). The searcher reads the metric itself.
        super().__init__()
        self.metric_name = metric
        self.study, self.space, self.live = study, space, live
        self.target, self.failure_budget, self.watch = target, failure_budget, watch
        self.retries, self.trial_epochs, self.serving, self.spend = (
            retries,
            trial_epochs,
            serving,
            spend,
        )
        # Counted once, then kept as trials are told: the driver is the storage's only writer
        # (the run-directory lock sees to that), and a query per suggest costs ~6 ms on SQLite.
        self.finished = finished_count(study)
        self.failed = len(failed_trials(study))

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        return True  # the space comes from the study file, not from Ray's param_space

    @property
    def over_failure_budget(self) -> bool:
        return self.failed > self.failure_budget

    @property
    def done(self) -> bool:
        """Nothing more to start: the trials wanted are finished or running, or the budget
        (search.budget: epochs, minutes, GPU-hours) is spent."""
        if self.target is not None and self.finished + len(self.live) >= self.target:
            return True
        return self.spend is not None and self.spend.reached() is not None

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.over_failure_budget:
            return Searcher.FINISHED
        if self.done:
            # None while trials run: one may fail and need replacing (Ray never asks a
            # searcher again once it said FINISHED).
            return None if len(self.live) else Searcher.FINISHED
        trial = self._ask_within_constraints()
        trial.set_user_attr(RAY_TRIAL_ID, trial_id)
        self.live.start(trial_id, trial)
        if self.watch is not None:
            self.watch.started(trial)
        return (
            self.trial_epochs.trial_config(trial.params)
            if self.trial_epochs
            else dict(trial.params)
        )

    def _ask_within_constraints(self) -> optuna.trial.Trial:
        """A new trial whose backbone meets search.constraints. Each trial carries its
        backbone's serving cost, and its excess over each bound for Optuna's constrained
        samplers; one that breaks a bound is told PRUNED untrained (INFEASIBLE), so the sampler
        learns to avoid it at no cost, and another is asked for."""

        for _ in range(MAX_DRAWS):
            trial = self.study.ask(self.space)
            if self.serving is None:
                return trial
            cost = self.serving.cost_of(trial.params)
            for key in COST_KEYS:
                trial.set_user_attr(key, cost[key])
            limits = self.serving.limits
            for name, over in excess(cost, limits).items():
                trial.set_constraint(name, over)
            reason = broken(cost, limits)
            if reason is None:
                return trial
            trial.set_user_attr(INFEASIBLE, f"breaks search.constraints: {reason}")
            frozen = self.study.tell(trial, state=TrialState.PRUNED)
            if self.watch is not None:
                self.watch.finished(self.study, frozen)
        raise SearchFailed(
            f"no configuration within search.constraints in {MAX_DRAWS} draws of the sampler; "
            "relax the constraints or drop the backbones that break them"
        )

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Keep each epoch's curves (written once, when the trial ends); record where the
        trial runs with its first result, so the dashboard shows it while it runs."""
        live = self.live.get(trial_id)
        if live is None:
            return
        _record_placement(live, result)
        if self.watch is not None:
            self.watch.epoch(live.trial, result)
        add_epoch(live.curves, result)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:

        live = self.live.end(trial_id)
        if live is None:
            return
        result = result or {}
        trial, curves = live.trial, live.curves
        _record_placement(live, result)
        add_epoch(curves, result)  # a stopped trial's last epoch comes only here
        value, epochs = self._value(result, curves)
        if live.stopped is not None:  # kept as it stands: usable if it reached a choice
            trial.set_user_attr(STOPPED, f"search.budget.{live.stopped} reached")
        state, value, reason = outcome(
            value,
            metric=self.metric_name,
            error=error,
            failed=result.get("failed"),
            pruned=live.pruned or (live.stopped is not None and not self._choosable(epochs)),
            raised=live.error,
        )
        if reason:
            trial.set_user_attr(FAIL_REASON, reason[:2000])
        if state == TrialState.COMPLETE and epochs is not None:
            trial.set_user_attr(CHOSEN_EPOCHS, epochs)
        if "elapsed_seconds" in result:
            trial.set_user_attr(TRAIN_SECONDS, round(float(result["elapsed_seconds"]), 3))
        if curves:
            trial.set_user_attr(HISTORY, to_history(curves))
        tags = per_tag(curves, epochs)
        if tags:  # shown in the dashboard's trial view
            trial.set_user_attr(PER_TAG, tags)
        frozen = self.study.tell(trial, value, state=state)
        if state == TrialState.FAIL:
            self.failed += 1
            if error:
                self._maybe_retry(frozen)
        else:
            self.finished += 1
        if self.watch is not None:
            self.watch.epoch(trial, result)  # a stopped trial's last epoch comes only here
            self.watch.finished(self.study, frozen)

    def _value(self, result: dict, curves: list[dict[str, float]]) -> tuple[Any, int | None]:
        """The trial's value and, when epochs is searched, the epoch its curve chose."""
        if self.trial_epochs is None or not self.trial_epochs.searched:
            return result.get(self.metric_name), None
        curve = {int(r["epoch"]): r[self.metric_name] for r in curves if self.metric_name in r}
        minimize = minimizes(self.study)
        chosen = self.trial_epochs.choose(curve, minimize)
        return (None, None) if chosen is None else (chosen[1], chosen[0])

    def _choosable(self, epochs: int | None) -> bool:
        """A trial stopped at `epochs` stands for a configuration the refit can replay: the
        study searches epochs, and the trial's curve reached one of the counts allowed."""
        plan = self.trial_epochs
        return plan is not None and plan.searched and epochs in plan.choices

    def _maybe_retry(self, failed: FrozenTrial) -> None:
        """A trial that raised (a crashed worker, a flaky read) runs again as a new trial with
        the same parameters, up to `retries` times; failures it reported itself (divergence,
        out of memory) are deterministic and never come here."""
        attempt = int(failed.user_attrs.get(ATTEMPT, 1))
        if attempt > self.retries:
            return
        self.study.enqueue_trial(
            failed.params, user_attrs={ATTEMPT: attempt + 1, RETRY_OF: failed.number}
        )

    def __getstate__(self) -> dict[str, Any]:
        """Ray pickles the searcher into ray/tuner.pkl, for a restore hpsearch never does:
        everything that holds the study is left out, as its storage URL may hold a password."""
        return {k: v for k, v in self.__dict__.items() if k not in HOLD_THE_STUDY}

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: the Optuna storage is the search's checkpoint. A resumed run opens
        the study with a fresh Tuner (never `Tuner.restore`), and trials a dead run left
        RUNNING are told FAIL; defined so Ray does not warn that saving is unsupported."""


def _record_placement(live: LiveTrial, result: dict) -> None:
    """Where a trial runs, once: from its first result, or its only one (a trial stopped on
    its first result, pruned or failed, reaches only `on_trial_complete`)."""
    if live.placed or NODE not in result:
        return
    live.placed = True
    for key in (NODE, GPUS):
        live.trial.set_user_attr(key, result[key])
