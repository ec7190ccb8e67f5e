"""Settings that are valid but make pruning or batching do nothing: a warning each."""

from __future__ import annotations

import pytest

from search.study.pointless import pointless_settings
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study

LR = {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}


def spec_of(fixed: dict, search: dict, batch: list[int] | None = None):
    space = {"lr": LR}
    if batch:
        space["batch_size"] = {"type": "categorical", "choices": batch}
    return parse_study_spec(tiny_study(space=space, fixed=fixed, search=search))


def test_a_batch_larger_than_the_training_split_is_said() -> None:
    spec = spec_of({"epochs": 3}, {"pruner": "none"}, batch=[16, 64])
    (line,) = pointless_settings(spec, train_images=40)
    assert line.startswith("batch_size 64 is larger than the training split (40 images)")
    assert pointless_settings(spec, train_images=64) == []


@pytest.mark.parametrize(
    ("fixed", "search", "said"),
    [
        ({"epochs": 1}, {"pruner": "successive_halving"}, "first rung is at epoch 1 and trials"),
        (
            {"epochs": 2},
            {"pruner": {"type": "hyperband", "warmup_epochs": 2}},
            "first rung is at epoch 2",
        ),
        (
            {"epochs": 3},
            {"pruner": {"type": "median", "warmup_epochs": 3}},
            "warmup_epochs 3 leaves no epoch",
        ),
        (
            {"epochs": 3},
            {"trials": 3, "pruner": {"type": "median", "startup_trials": 3}},
            "startup_trials 3 is not below search.trials 3",
        ),
    ],
)
def test_a_pruner_with_nothing_to_do_is_said(fixed, search, said) -> None:
    (line,) = pointless_settings(spec_of(fixed, search), train_images=100)
    assert said in line


def test_settings_that_work_say_nothing() -> None:
    spec = spec_of({"epochs": 3}, {"trials": 12, "pruner": "successive_halving"}, batch=[16])
    assert pointless_settings(spec, train_images=100) == []
