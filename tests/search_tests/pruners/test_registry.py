"""Every pruner a study file names, from the registry: built, described, its options checked."""

from __future__ import annotations

import optuna
import pytest

from search.errors import StudySpecError
from search.pruners import PRUNERS
from search.report.pruning import pruning_rule
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study

OPTIONS = {"threshold": {"upper": 2.0}}  # what a pruner needs beside its name
KINDS = {
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "none": optuna.pruners.NopPruner,
    "patient": optuna.pruners.PatientPruner,
    "median": optuna.pruners.MedianPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "threshold": optuna.pruners.ThresholdPruner,
}


def test_the_registry_holds_every_pruner() -> None:
    assert sorted(PRUNERS.names()) == sorted(KINDS)


@pytest.mark.parametrize(("name", "cls"), KINDS.items())
def test_every_pruner_is_built_and_described(name: str, cls: type) -> None:
    spec = parse_study_spec(tiny_study(search={"pruner": {"type": name, **OPTIONS.get(name, {})}}))
    assert isinstance(spec.search.pruner.make(spec.trial_epochs.epochs), cls)
    assert f"Pruner {name}: " in pruning_rule(spec)


def test_a_wrong_name_lists_every_registered_pruner() -> None:
    with pytest.raises(StudySpecError) as error:
        parse_study_spec(tiny_study(search={"pruner": "medain"}))
    assert "search.pruner.type must be one of" in str(error.value)
    for name in KINDS:
        assert repr(name) in str(error.value)


def test_a_saved_spec_with_every_option_at_its_default_still_loads() -> None:
    """Run directories written before each pruner had a model of its own hold them all."""
    saved = {
        "type": "median",
        "startup_trials": 3,
        "warmup_epochs": 0,
        "percentile": 25.0,
        "reduction_factor": 3,
    }
    spec = parse_study_spec(tiny_study(search={"pruner": saved}))
    assert spec.search.pruner.model_dump() == {
        "type": "median",
        "startup_trials": 3,
        "warmup_epochs": 0,
    }
