"""The threshold pruner: stops a trial whose metric leaves the range, whatever the others did."""

from __future__ import annotations

import pytest

from search.errors import StudySpecError
from search.pruners.threshold import Threshold
from search.study.pointless import pointless_settings
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study
from tests.search_tests.pruners.fake import pruned_at

LR = {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}


def test_a_loss_above_upper_is_stopped_at_that_epoch() -> None:
    pruner = Threshold(upper=1.0)
    assert pruned_at(pruner, [2.5, 0.9, 0.5], epochs=3) == 1
    assert pruned_at(pruner, [0.9, 1.2, 0.5], epochs=3) == 2
    assert pruned_at(pruner, [0.9, 0.8, 0.7], epochs=3) is None


def test_nothing_before_its_first_epoch_and_nothing_at_the_last() -> None:
    assert pruned_at(Threshold(upper=1.0, warmup_epochs=2), [5.0, 5.0, 5.0], epochs=4) == 2
    assert pruned_at(Threshold(upper=1.0), [0.5, 0.5, 5.0], epochs=3) is None


def test_lower_bounds_a_metric_to_maximise() -> None:
    assert pruned_at(Threshold(lower=0.2), [0.5, 0.1, 0.6], epochs=4) == 2


def test_it_needs_a_bound_in_order() -> None:
    with pytest.raises(StudySpecError, match=r"search\.pruner: threshold needs lower or upper"):
        parse_study_spec(tiny_study(search={"pruner": "threshold"}))
    with pytest.raises(StudySpecError, match=r"lower must be below upper, got 3\.0 > 1\.0"):
        parse_study_spec(
            tiny_study(search={"pruner": {"type": "threshold", "lower": 3.0, "upper": 1.0}})
        )


def test_its_rule_and_its_idle_warning() -> None:
    pruner = Threshold(upper=2.0, lower=0.1, warmup_epochs=1)
    assert (
        pruner.rule("val_loss", 4)
        == "a trial stops when its val_loss is above 2 or below 0.1, from epoch 1"
    )
    spec = parse_study_spec(
        tiny_study(
            space={"lr": LR},
            fixed={"epochs": 2},
            search={"pruner": {"type": "threshold", "upper": 2, "warmup_epochs": 2}},
        )
    )
    (line,) = pointless_settings(spec, train_images=10_000)
    assert "warmup_epochs 2 leaves no epoch before the last (2)" in line
