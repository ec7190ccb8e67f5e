"""`select: best`: the single best complete trial within search.constraints is refitted."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.selection import SELECTIONS, ranked
from search.selection.best import Best
from search.trials.attrs import RACE_OF, RACE_RUN

LR = {"lr": FloatDistribution(1e-4, 1.0, log=True)}


def add(study: optuna.Study, value: float | None, latency: float, **attrs) -> None:
    cost = {"params_m": 4.0, "macs_g": 0.4, "latency_ms": latency, "throughput": 100.0}
    study.add_trial(
        create_trial(
            state=TrialState.COMPLETE if value is not None else TrialState.PRUNED,
            value=value,
            params={"lr": 0.01},
            distributions=LR,
            user_attrs={**cost, **attrs},
            intermediate_values={1: value if value is not None else 9.0},
        )
    )


def test_the_best_complete_trial_within_the_constraints_is_picked() -> None:
    study = optuna.create_study()
    add(study, 0.30, latency=9.0)  # 0: best, too slow
    add(study, 0.40, latency=3.0)  # 1
    add(study, None, latency=1.0)  # 2: pruned
    add(study, 0.35, latency=4.0)  # 3
    add(study, 0.10, latency=1.0, **{RACE_OF: 1, RACE_RUN: 1})  # a race run is no candidate
    assert Best().pick(study, {}).number == 0
    assert Best().pick(study, {"latency_ms": 5.0}).number == 3
    assert [t.number for t in ranked(study, {"latency_ms": 5.0})] == [3, 1]
    assert Best().pick(study, {"latency_ms": 0.5}) is None


def test_a_maximised_metric_picks_the_highest_and_ties_go_to_the_earliest() -> None:
    study = optuna.create_study(direction="maximize")
    for value in (0.8, 0.9, 0.9):
        add(study, value, latency=1.0)
    assert Best().pick(study, {}).number == 1


def test_the_registry_holds_best_and_race() -> None:
    assert SELECTIONS.names() == ["best", "race"]
