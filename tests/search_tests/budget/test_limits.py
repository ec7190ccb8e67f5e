"""search.budget in the study file: what it takes, what it refuses, and search.trials beside it."""

from __future__ import annotations

import pytest

from search.errors import StudySpecError
from search.study.spec import dump_spec, parse_study_spec
from tests.search_tests.helpers import tiny_study


def spec_with(search: dict, **more):
    """The tiny study with `search` as its whole search: section (no trials: 3 of its own)."""
    raw = tiny_study(**more)
    raw["search"] = search
    return parse_study_spec(raw)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"minutes": 0}, "search.budget.minutes must be greater than 0, got 0"),
        ({"minutes": -5}, "search.budget.minutes must be greater than 0, got -5"),
        ({"epochs": 0}, "search.budget.epochs must be greater than 0, got 0"),
        ({"gpu_hours": -0.5}, "search.budget.gpu_hours must be greater than 0, got -0.5"),
        ({"trials": 0}, "search.budget.trials must be greater than 0, got 0"),
        ({}, "search.budget must set at least one of trials, epochs, minutes, gpu_hours"),
        ({"minute": 3}, "unknown key search.budget.minute; did you mean minutes?"),
    ],
)
def test_a_budget_of_nothing_is_one_line(budget, message) -> None:
    with pytest.raises(StudySpecError) as error:
        spec_with({"budget": budget})
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_trials_given_twice_is_refused() -> None:
    with pytest.raises(StudySpecError, match=r"given twice, as search\.trials and search\.budget"):
        spec_with({"trials": 5, "budget": {"trials": 5}})


def test_gpu_hours_without_gpus_is_refused() -> None:
    with pytest.raises(StudySpecError, match=r"gpus_per_trial is 0, so trials spend none"):
        spec_with({"budget": {"gpu_hours": 1}})
    spec = spec_with({"budget": {"gpu_hours": 1}}, resources={"gpus_per_trial": 0.5})
    assert spec.search.stop.limits == {"gpu_hours": 1.0}


def test_search_trials_joins_the_budget_and_alone_stays_what_it_was() -> None:
    both = spec_with({"trials": 12, "budget": {"minutes": 3}})
    assert both.search.stop.limits == {"trials": 12, "minutes": 3.0}
    assert both.search.stop.shown() == "12 trials or 3 minutes"
    alone = spec_with({"trials": 7})
    assert alone.search.stop.limits == {"trials": 7} and alone.search.budget is None
    time_only = spec_with({"budget": {"minutes": 1.5}})
    assert time_only.search.trial_limit is None  # no count: the clock stops it
    default = parse_study_spec({"name": "x"})
    assert default.search.trials == 20 and default.search.trial_limit == 20


def test_a_saved_budget_reads_back_the_same() -> None:
    import yaml

    spec = spec_with({"budget": {"epochs": 40, "minutes": 2}})
    again = parse_study_spec(yaml.safe_load(dump_spec(spec)))
    assert again.search.stop == spec.search.stop and again.search.trial_limit is None


def test_each_limit_estimates_the_time_left_before_it_is_reached() -> None:
    from search.budget import LIMITS, Pace, Spent

    spent = Spent(trials=4, epochs=20, seconds=100.0, gpu_seconds=0.0)
    pace = Pace(
        trial_epochs=3.0, epoch_seconds=2.0, concurrency=2, running=2, running_epochs_left=1.0
    )
    # trials: 4 unstarted of 10 (2 run) at 3 epochs, plus 1 epoch in flight, 2 s an epoch, 2 at once
    assert LIMITS["trials"].seconds_left(10, spent, pace) == 13.0
    assert LIMITS["epochs"].seconds_left(30, spent, pace) == 10.0
    assert LIMITS["minutes"].seconds_left(3, spent, pace) == 80.0
    assert LIMITS["gpu_hours"].seconds_left(1, spent, pace) is None  # no GPU pace to go by
    assert [limit.shown(1) for limit in LIMITS.values()] == [
        "1 trial",
        "1 epoch",
        "1 minute",
        "1 GPU-hour",
    ]
