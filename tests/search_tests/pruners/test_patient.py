"""The patient pruner: a trial stops once it has not improved for `patience` epochs; a wrapped
pruner must agree."""

from __future__ import annotations

from search.pruners.patient import Patient
from search.pruners.percentile import Median
from search.pruners.threshold import Threshold
from search.study.pointless import pointless_settings
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study
from tests.search_tests.pruners.fake import pruned_at

LR = {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}


def test_a_trial_that_stops_improving_is_stopped_after_its_patience() -> None:
    pruner = Patient(patience=2)
    assert pruned_at(pruner, [1.0, 0.8, 0.9, 0.85, 0.9, 0.5], epochs=6) == 5
    assert pruned_at(pruner, [1.0, 0.8, 0.7, 0.6, 0.5, 0.4], epochs=6) is None


def test_min_delta_lets_a_small_worsening_pass() -> None:
    assert pruned_at(Patient(patience=1), [1.0, 1.05, 1.05, 0.5], epochs=5) == 3
    assert pruned_at(Patient(patience=1, min_delta=0.1), [1.0, 1.05, 1.05, 0.5], epochs=5) is None


def test_a_wrapped_pruner_must_agree() -> None:
    stalled = [1.0, 0.8, 0.9, 0.85, 0.9, 0.9, 0.9]
    good = [[0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3]] * 3
    bad = [[2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4]] * 3
    assert pruned_at(Patient(patience=2, wrapped=Median()), stalled, 7, others=good) == 5
    assert pruned_at(Patient(patience=2, wrapped=Median()), stalled, 7, others=bad) is None


def test_it_hides_warm_starts_only_from_a_wrapped_pruner_that_compares_trials() -> None:
    assert not Patient().compares_trials
    assert Patient(wrapped=Median()).compares_trials
    assert not Patient(wrapped=Threshold(upper=1)).compares_trials


def test_the_study_file_names_it_and_what_it_wraps() -> None:
    search = {"pruner": {"type": "patient", "patience": 1, "wrapped": "successive_halving"}}
    spec = parse_study_spec(tiny_study(space={"lr": LR}, fixed={"epochs": 9}, search=search))
    assert spec.search.pruner == Patient(patience=1, wrapped={"type": "successive_halving"})
    assert spec.search.pruner.rungs(9) == [1, 3]
    assert spec.search.pruner.rule("val_loss", 9).startswith(
        "a trial stops when its val_loss has stayed worse than its best so far for more than 1 "
        "epochs and the successive_halving pruner agrees (at epochs 1, 3, a trial"
    )


def test_a_patience_past_the_last_epoch_is_said() -> None:
    spec = parse_study_spec(
        tiny_study(space={"lr": LR}, fixed={"epochs": 3}, search={"pruner": "patient"})
    )
    (line,) = pointless_settings(spec, train_images=10_000)
    assert line.startswith("pruner patient: patience 2 waits past the last epoch (3)")
