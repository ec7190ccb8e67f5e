"""Serving cost read off stored trials: within the bounds or not, and the Pareto front."""

from __future__ import annotations

import optuna

from search.trials.serving import cost_of, meets, pareto_front


def study_of(points: list[tuple[float, float]]) -> optuna.Study:
    """Complete trials of (value, latency_ms)."""
    study = optuna.create_study()
    for value, latency in points:
        trial = study.ask()
        for key, figure in {"params_m": 4, "macs_g": 0.1, "latency_ms": latency}.items():
            trial.set_user_attr(key, figure)
        trial.set_user_attr("throughput", 1000 / latency)
        study.tell(trial, value)
    return study


def test_the_front_keeps_what_nothing_beats_on_both() -> None:
    #          0: front   1: beaten by 0   2: front   3: beaten by 2  4: equal to 2, later
    study = study_of([(0.50, 1.0), (0.60, 2.0), (0.30, 3.0), (0.40, 3.5), (0.30, 3.0)])
    front = pareto_front(study.trials, minimize=True)
    assert [t.number for t in front] == [0, 2]
    assert [t.number for t in pareto_front(study.trials, minimize=False)] == [0, 1]


def test_bounds_are_met_only_by_trials_of_known_cost() -> None:
    study = study_of([(0.5, 1.0), (0.4, 6.0)])
    fast, slow = study.trials
    assert meets(fast, {"latency_ms": 4}) and not meets(slow, {"latency_ms": 4})
    unknown = study.ask()
    study.tell(unknown, 0.1)
    assert cost_of(study.trials[2]) is None
    assert meets(study.trials[2], {}) and not meets(study.trials[2], {"latency_ms": 4})
