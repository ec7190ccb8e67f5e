"""Optuna's private surface that hpsearch relies on (search/engine/optuna_internals.py): each
test fails when a release of Optuna changes what the adapter calls."""

from __future__ import annotations

import copy
import inspect

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

from search.engine.optuna_internals import StudyView, running_trial


def _study_with(values: list[float]) -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(n_startup_trials=2, seed=0))
    for x in values:
        study.add_trial(
            create_trial(params={"x": x}, distributions={"x": FloatDistribution(0, 1)}, value=x)
        )
    return study


def test_study_get_trials_has_the_signature_the_view_answers() -> None:
    params = inspect.signature(optuna.Study._get_trials).parameters
    assert list(params) == ["self", "deepcopy", "states", "use_cache"]


def test_samplers_read_trials_through_the_view() -> None:
    """TPE sees the values the view shows, not the stored ones: here every trial looks best
    near x = 1, while the storage says near x = 0."""
    study = _study_with([i / 20 for i in range(20)])

    def upside_down(trials: list[FrozenTrial]) -> list[FrozenTrial]:
        shown = []
        for trial in trials:
            trial = copy.copy(trial)
            if trial.state == TrialState.COMPLETE:
                trial.value = 1.0 - trial.params["x"]
            shown.append(trial)
        return shown

    sampler = optuna.samplers.TPESampler(n_startup_trials=2, seed=0)
    view = StudyView(study, upside_down)
    space = {"x": FloatDistribution(0, 1)}
    drawn = []
    for _ in range(10):
        trial = study.ask()  # a live trial for the sampler to sample into
        drawn.append(sampler.sample_independent(view, trial, "x", space["x"]))
        study.tell(trial, state=TrialState.FAIL)
    assert sum(drawn) / len(drawn) > 0.6  # pulled towards x = 1, where the view puts the best


def test_a_running_trial_from_a_template_is_live_and_not_waiting() -> None:
    assert list(inspect.signature(optuna.trial.Trial.__init__).parameters) == [
        "self",
        "study",
        "trial_id",
    ]
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    template = create_trial(
        state=TrialState.RUNNING,
        params={"x": 0.25},
        distributions={"x": FloatDistribution(0, 1)},
        user_attrs={"race_of": 3},
    )
    trial = running_trial(study, storage, template)
    trial.report(0.5, 1)
    study.tell(trial, 0.4)
    (stored,) = study.trials
    assert stored.state == TrialState.COMPLETE and stored.params == {"x": 0.25}
    assert stored.user_attrs == {"race_of": 3} and stored.intermediate_values == {1: 0.5}
    assert study.get_trials(states=(TrialState.WAITING,)) == []
