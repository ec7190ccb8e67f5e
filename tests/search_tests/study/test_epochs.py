"""The epochs a trial trains: every trial's schedule, and the epochs its curve chooses."""

from __future__ import annotations

import math

import pytest

from search.errors import StudySpecError
from search.study.epochs import TrialEpochs
from search.study.space import distributions
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study
from trainable import TrainConfig

LR = {"lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}}


def trial_epochs(epochs: dict | None, fixed: dict) -> TrialEpochs:
    space = {**LR, **({"epochs": epochs} if epochs else {})}
    return parse_study_spec(tiny_study(space=space, fixed=fixed)).trial_epochs


@pytest.mark.parametrize(
    ("epochs", "fixed", "expected"),
    [
        ({"type": "int", "low": 1, "high": 6}, {}, TrialEpochs(6, (1, 2, 3, 4, 5, 6), True)),
        ({"type": "int", "low": 2, "high": 8, "step": 3}, {}, TrialEpochs(8, (2, 5, 8), True)),
        ({"type": "categorical", "choices": [9, 3]}, {}, TrialEpochs(9, (3, 9), True)),
        (None, {"epochs": 4}, TrialEpochs(4, (4,), False)),
        (None, {}, TrialEpochs(TrainConfig().epochs, (TrainConfig().epochs,), False)),
    ],
)
def test_the_trial_epochs_of_a_study(epochs, fixed, expected) -> None:
    assert trial_epochs(epochs, fixed) == expected


def test_epochs_is_never_sampled_every_trial_trains_them_all() -> None:
    spec = parse_study_spec(
        tiny_study(space={**LR, "epochs": {"type": "int", "low": 1, "high": 5}})
    )
    assert set(distributions(spec)) == {"lr"}
    assert spec.trial_epochs.trial_config({"lr": 0.01}) == {"lr": 0.01, "epochs": 5}
    held = TrialEpochs(4, (4,), False)
    assert held.trial_config({"lr": 0.01}) == {"lr": 0.01}


@pytest.mark.parametrize(
    ("curve", "minimize", "expected"),
    [
        ({1: 0.9, 2: 0.5, 3: 0.4}, True, (3, 0.4)),
        ({1: 0.9, 2: 0.3, 3: 0.4}, True, (2, 0.3)),  # overfitting after epoch 2
        ({1: 0.9, 2: 0.3, 3: 0.3}, True, (2, 0.3)),  # a tie: the fewer epochs
        ({1: 0.9, 2: 0.95, 3: 0.4}, False, (2, 0.95)),  # accuracy: the highest
        ({1: 0.2, 2: 0.5}, True, (2, 0.5)),  # epoch 1 is not allowed (low: 2)
        ({1: 0.2}, True, (1, 0.2)),  # stopped early before low: its last epoch
        ({2: 0.5, 3: math.nan}, True, (2, 0.5)),
        ({}, True, None),
    ],
)
def test_a_searched_trial_stands_for_its_best_allowed_epoch(curve, minimize, expected) -> None:
    assert TrialEpochs(3, (2, 3), True).choose(curve, minimize) == expected


def test_a_held_trial_stands_for_its_last_epoch() -> None:
    assert TrialEpochs(3, (3,), False).choose({1: 0.2, 2: 0.5}, True) == (2, 0.5)


def test_the_replay_trains_the_chosen_epochs_on_the_trials_schedule() -> None:
    trained = TrainConfig(epochs=6, lr=0.01)
    shorter = TrialEpochs(6, tuple(range(1, 7)), True).replay(trained, 4)
    assert (shorter.epochs, shorter.schedule_epochs, shorter.horizon) == (4, 6, 6)
    whole = TrialEpochs(6, tuple(range(1, 7)), True).replay(trained, 6)
    assert (whole.epochs, whole.schedule_epochs) == (6, None)
    assert whole == trained


def test_schedule_epochs_cannot_be_set_while_epochs_is_searched() -> None:
    raw = tiny_study(fixed={"schedule_epochs": 9})
    with pytest.raises(StudySpecError, match="schedule_epochs cannot be set while epochs"):
        parse_study_spec(raw)


def test_a_schedule_shorter_than_the_run_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule_epochs must be >= epochs"):
        TrainConfig(epochs=4, schedule_epochs=2)
