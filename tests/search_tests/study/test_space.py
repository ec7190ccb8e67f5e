"""space: entries as Optuna distributions."""

from __future__ import annotations

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from search.study.space import distributions, to_distribution
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study


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
    assert to_distribution(spec.space["epochs"]) == IntDistribution(2, 8, step=2)
    assert "epochs" not in space  # the budget, not sampled (study/epochs.py)
    assert space["batch_size"] == CategoricalDistribution([16, 32])
