"""Samplers and pruners by the names a study file uses."""

from __future__ import annotations

import optuna
import pytest

from search.engine.strategies import make_pruner, make_sampler, sampler_choice
from search.study.space import distributions
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("tpe", optuna.samplers.TPESampler),
        ("random", optuna.samplers.RandomSampler),
        ("cmaes", optuna.samplers.CmaEsSampler),
        ("gp", optuna.samplers.GPSampler),
        ("qmc", optuna.samplers.QMCSampler),
    ],
)
def test_every_sampler_is_built_and_samples(name: str, cls: type) -> None:
    spec = parse_study_spec(tiny_study(search={"sampler": name}))
    sampler = make_sampler(spec.search, seed=0)
    assert isinstance(sampler, cls)
    study = optuna.create_study(sampler=sampler)
    for _ in range(3):  # past startup for the model-based ones
        trial = study.ask(distributions(spec))
        study.tell(trial, trial.params["lr"])
    assert len(study.trials) == 3


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("median", optuna.pruners.MedianPruner),
        ("percentile", optuna.pruners.PercentilePruner),
        ("successive_halving", optuna.pruners.SuccessiveHalvingPruner),
        ("hyperband", optuna.pruners.HyperbandPruner),
        ("none", optuna.pruners.NopPruner),
    ],
)
def test_every_pruner_is_built(name: str, cls: type) -> None:
    spec = parse_study_spec(tiny_study(search={"pruner": name}))
    assert isinstance(make_pruner(spec.search.pruner, spec.budget.epochs), cls)


def test_tpe_is_multivariate_with_constant_liar_and_seeded() -> None:
    spec = parse_study_spec(tiny_study(search={"sampler": "tpe", "trials": 40}))
    kind, options = sampler_choice(spec.search, seed=5)
    assert kind is optuna.samplers.TPESampler
    assert options == {
        "n_startup_trials": 10,
        "multivariate": True,
        "constant_liar": True,
        "seed": 5,
    }
    first = optuna.create_study(sampler=make_sampler(spec.search, 5)).ask(distributions(spec))
    again = optuna.create_study(sampler=make_sampler(spec.search, 5)).ask(distributions(spec))
    assert first.params == again.params


@pytest.mark.parametrize(("trials", "startup"), [(4, 2), (12, 3), (40, 10), (400, 10)])
def test_startup_trials_are_a_quarter_of_the_study_between_2_and_10(trials, startup) -> None:
    spec = parse_study_spec(tiny_study(search={"sampler": "gp", "trials": trials}))
    assert sampler_choice(spec.search, seed=0)[1]["n_startup_trials"] == startup
