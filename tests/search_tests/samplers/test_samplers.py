"""Samplers by the names a study file uses: each registered one builds, samples and is seeded."""

from __future__ import annotations

import optuna
import pytest

from search.samplers import SAMPLERS
from search.samplers.tpe import TPE
from search.study.space import distributions
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study

KINDS = {
    "cmaes": optuna.samplers.CmaEsSampler,
    "gp": optuna.samplers.GPSampler,
    "qmc": optuna.samplers.QMCSampler,
    "random": optuna.samplers.RandomSampler,
    "tpe": optuna.samplers.TPESampler,
}


def test_the_registry_holds_every_sampler_a_study_file_names() -> None:
    assert SAMPLERS.names() == list(KINDS)


@pytest.mark.parametrize(("name", "cls"), KINDS.items())
def test_every_sampler_is_built_and_samples(name: str, cls: type) -> None:
    spec = parse_study_spec(tiny_study(search={"sampler": name}))
    sampler = spec.search.sampler.make(seed=0, trials=12)
    assert isinstance(sampler, cls)
    study = optuna.create_study(sampler=sampler)
    for _ in range(3):  # past startup for the model-based ones
        trial = study.ask(distributions(spec))
        study.tell(trial, trial.params["lr"])
    assert len(study.trials) == 3


def test_tpe_is_multivariate_with_constant_liar_and_seeded() -> None:
    spec = parse_study_spec(tiny_study(search={"sampler": "tpe", "trials": 40}))
    assert spec.search.sampler.options(seed=5, trials=40) == {
        "n_startup_trials": 10,
        "multivariate": True,
        "constant_liar": True,
        "seed": 5,
    }
    first = optuna.create_study(sampler=TPE().make(5, 40)).ask(distributions(spec))
    again = optuna.create_study(sampler=TPE().make(5, 40)).ask(distributions(spec))
    assert first.params == again.params


@pytest.mark.parametrize(("trials", "startup"), [(4, 2), (12, 3), (40, 10), (400, 10)])
def test_startup_trials_are_a_quarter_of_the_study_between_2_and_10(trials, startup) -> None:
    spec = parse_study_spec(tiny_study(search={"sampler": "gp", "trials": trials}))
    assert spec.search.sampler.startup(trials) == startup
    assert spec.search.sampler.make(0, trials)._n_startup_trials == startup


def test_a_wrong_name_lists_the_registered_samplers() -> None:
    from search.errors import StudySpecError

    with pytest.raises(StudySpecError, match="'cmaes', 'gp', 'qmc', 'random', 'tpe', got 'tpe2'"):
        parse_study_spec(tiny_study(search={"sampler": "tpe2"}))
