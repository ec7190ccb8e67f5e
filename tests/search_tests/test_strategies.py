from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from search.engine.strategies import make_pruner, make_sampler, max_epochs
from search.study.space import distributions
from search.study.spec import parse_study_spec
from tests.search_tests.conftest import tiny_study


def test_space_entries_become_optuna_distributions() -> None:
    spec = parse_study_spec(
        tiny_study(
            space={
                "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                "dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
                "epochs": {"type": "int", "low": 2, "high": 8, "step": 2},
                "batch_size": {"type": "categorical", "choices": [16, 32]},
            }
        )
    )
    space = distributions(spec)
    assert space["lr"] == FloatDistribution(1e-4, 1e-1, log=True)
    assert space["dropout"] == FloatDistribution(0.0, 0.5, step=0.1)
    assert space["epochs"] == IntDistribution(2, 8, step=2)
    assert space["batch_size"] == CategoricalDistribution([16, 32])


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
    assert isinstance(make_pruner(spec.search.pruner, max_epochs(spec)), cls)


def test_tpe_is_multivariate_with_constant_liar_and_seeded() -> None:
    spec = parse_study_spec(tiny_study(search={"sampler": "tpe", "trials": 40}))
    sampler = make_sampler(spec.search, seed=5)
    assert sampler._multivariate is True and sampler._constant_liar is True
    assert sampler._n_startup_trials == 10
    first = optuna.create_study(sampler=make_sampler(spec.search, 5)).ask(distributions(spec))
    again = optuna.create_study(sampler=make_sampler(spec.search, 5)).ask(distributions(spec))
    assert first.params == again.params


def test_max_epochs_comes_from_the_space_or_fixed() -> None:
    assert max_epochs(parse_study_spec(tiny_study())) == 2
    held = tiny_study(
        space={"lr": {"type": "float", "low": 0.001, "high": 0.1}}, fixed={"epochs": 7}
    )
    assert max_epochs(parse_study_spec(held)) == 7
