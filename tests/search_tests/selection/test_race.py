"""`select: race`: its standings read off stored trials: contenders, runs, who is out, who won."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.selection.race import missing_runs, standings
from search.study.spec import parse_study_spec
from search.trials.attrs import FAIL_REASON, INTERRUPTED, RACE_OF, RACE_RUN
from search.trials.states import complete_trials, failed_trials, finished_count
from tests.search_tests.helpers import tiny_study

LR = {"lr": FloatDistribution(1e-4, 1.0, log=True)}


def add(study: optuna.Study, lr: float, value: float | None, state=TrialState.COMPLETE, **attrs):
    study.add_trial(
        create_trial(
            state=state,
            value=value,
            params={"lr": lr},
            distributions=LR,
            user_attrs=attrs,
            intermediate_values={1: value} if value is not None else {},
        )
    )


def race_spec(**select):
    return parse_study_spec(tiny_study(search={"select": {"top_k": 2, "repeats": 2, **select}}))


@pytest.fixture
def study() -> optuna.Study:
    study = optuna.create_study()
    add(study, 0.01, 0.50)  # 0: the single best draw
    add(study, 0.01, 0.51)  # 1: the same configuration again: not a contender of its own
    add(study, 0.02, 0.55)  # 2
    add(study, 0.03, 0.60)  # 3
    return study


def test_contenders_are_the_top_k_distinct_configurations(study) -> None:
    assert [t.number for t in race_spec().search.select.contenders(study, {})] == [0, 2]
    assert [t.number for t in race_spec(top_k=3).search.select.contenders(study, {})] == [0, 2, 3]


def test_the_best_mean_over_race_runs_wins_not_the_search_value(study) -> None:
    for of, values in ((0, (0.58, 0.60)), (2, (0.52, 0.54))):
        for run, value in enumerate(values, 1):
            add(study, study.trials[of].params["lr"], value, **{RACE_OF: of, RACE_RUN: run})
    table = race_spec().search.select.standings(study, {})
    assert table.finished and table.winner.number == 2 and table.changed
    assert table.to_dict()["contenders"][0] == {
        "trial": 0,
        "search_value": 0.50,
        "params": {"lr": 0.01},
        "runs": [0.58, 0.60],
        "mean": pytest.approx(0.59),
        "out": None,
    }
    # The race runs count towards nothing the search counts.
    assert finished_count(study) == 4 and len(complete_trials(study)) == 4


def test_a_run_that_failed_by_itself_puts_its_contender_out(study) -> None:
    add(study, 0.02, None, TrialState.FAIL, **{RACE_OF: 2, RACE_RUN: 1, FAIL_REASON: "Diverged"})
    add(study, 0.01, 0.70, **{RACE_OF: 0, RACE_RUN: 1})
    add(study, 0.01, 0.71, **{RACE_OF: 0, RACE_RUN: 2})
    table = race_spec().search.select.standings(study, {})
    assert table.contenders[1].out == "its race run 1 (trial 4) failed: Diverged"
    assert table.finished and table.winner.number == 0 and not table.changed
    assert missing_runs(table, {0: 0, 2: 0}, None) == []
    assert failed_trials(study) == []  # a race run's failure is not the search's


def test_interrupted_runs_run_again_run_by_run_with_shared_seeds(study) -> None:
    add(study, 0.01, 0.70, **{RACE_OF: 0, RACE_RUN: 1})
    add(study, 0.02, None, TrialState.FAIL, **{RACE_OF: 2, RACE_RUN: 1, FAIL_REASON: INTERRUPTED})
    table = race_spec().search.select.standings(study, {})
    assert not table.finished and table.winner.number == 0  # no mean yet: the single best
    missing = missing_runs(table, {0: 10, 2: 10}, 3)
    assert [(r.of, r.run, r.seed, r.split_seed) for r in missing] == [
        (2, 1, 11, 4),
        (0, 2, 12, 5),
        (2, 2, 12, 5),
    ]


def test_no_race_without_two_configurations_or_with_select_best() -> None:
    study = optuna.create_study()
    add(study, 0.01, 0.5)
    add(study, 0.01, 0.6)
    assert race_spec().search.select.standings(study, {}) is None
    add(study, 0.02, 0.7)
    best = parse_study_spec(tiny_study()).search.select
    assert best.section(study, {}) is None and best.summary(study, {}) == {}
    assert best.pick(study, {}).number == 0


def test_a_maximised_metric_races_for_the_highest_mean() -> None:
    study = optuna.create_study(direction="maximize")
    add(study, 0.01, 0.9)
    add(study, 0.02, 0.8)
    for of, lr, value in ((0, 0.01, 0.70), (1, 0.02, 0.85)):
        for run in (1, 2):
            add(study, lr, value, **{RACE_OF: of, RACE_RUN: run})
    table = standings(race_spec().search.select.contenders(study, {}), [], 2, minimize=False)
    assert table.winner.number == 0  # no runs: the single best
    raced = race_spec().search.select.standings(study, {})
    assert raced is not None and raced.winner.number == 1
