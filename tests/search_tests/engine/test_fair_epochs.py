"""The search is fair to `epochs`: simulated learning curves, the real searcher and scheduler.

The simulated trainable follows its learning-rate schedule: mid-schedule (lr still high) the
validation loss is worse the longer the schedule, but at the end more epochs are strictly
better. A fair search must end up choosing the most epochs; the old design, where each trial's
schedule spanned its own sampled `epochs`, pruned the long trials at their first epoch and
learnt "fewer epochs" instead.
"""

from __future__ import annotations

import math
import random

import optuna
import pytest
from ray.tune.schedulers import TrialScheduler

from search.engine.live_trials import LiveTrials
from search.engine.optuna_study import open_study
from search.engine.refit import best_config
from search.engine.scheduler import OptunaPruningScheduler
from search.engine.searcher import OptunaSearcher
from search.study.space import distributions, to_distribution
from search.study.spec import StudySpec, parse_study_spec
from tests.search_tests.helpers import FakeTrial, tiny_study

SEEDS = range(24)
MOST = 6


def study(seed: int, pruner: str = "median") -> StudySpec:
    return parse_study_spec(
        tiny_study(
            space={
                "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                "epochs": {"type": "int", "low": 1, "high": MOST},
            },
            search={"trials": 12, "concurrency": 1, "pruner": pruner, "seed": seed},
        )
    )


def val_loss(horizon: int, epoch: int, lr: float, noise: random.Random) -> float:
    """Worse mid-schedule for a longer schedule, better at its end: Li et al. (ICLR 2020)."""
    floor = 0.3 + 0.5 / horizon  # fully annealed: more epochs are better
    high_lr = 1.2 * (1 - epoch / horizon)  # still far from annealed
    lr_fit = 0.2 * (math.log10(lr) - math.log10(3e-3)) ** 2
    return floor + high_lr + lr_fit + noise.gauss(0, 0.01)


def search(spec: StudySpec, *, fair: bool) -> int:
    """Run the study to its end as Ray would drive it; the epochs its refit would train."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    opened = open_study(spec, optuna.storages.InMemoryStorage())
    live = LiveTrials()
    space = distributions(spec)
    if not fair:  # the old design: epochs sampled like any knob, each its own schedule
        space["epochs"] = to_distribution(spec.space["epochs"])
    plan = spec.trial_epochs if fair else None
    searcher = OptunaSearcher(
        opened.study, space, live, metric="val_loss", target=12, failure_budget=3, trial_epochs=plan
    )
    scheduler = OptunaPruningScheduler(live, "val_loss", epochs=plan.epochs if fair else None)
    noise = random.Random(spec.search.seed)
    for number in range(spec.search.trials):
        ray_id = f"trial-{number}"
        config = searcher.suggest(ray_id)
        result: dict[str, float] = {}
        for epoch in range(1, config["epochs"] + 1):
            loss = val_loss(config["epochs"], epoch, config["lr"], noise)
            result = {"epoch": epoch, "val_loss": loss}
            decision = scheduler.on_trial_result(None, FakeTrial(ray_id), result)
            if decision == TrialScheduler.STOP:
                break
            searcher.on_trial_result(ray_id, result)
        searcher.on_trial_complete(ray_id, result)
    if not fair:
        return opened.study.best_trial.params["epochs"]
    return best_config(opened.study, spec)[0].epochs


@pytest.mark.parametrize("pruner", ["median", "successive_halving", "hyperband"])
def test_the_search_chooses_the_most_epochs_when_they_are_best(pruner: str) -> None:
    chosen = [search(study(seed, pruner), fair=True) for seed in SEEDS]
    assert sum(c == MOST for c in chosen) >= 0.9 * len(SEEDS), chosen


def test_the_old_design_fails_the_same_test() -> None:
    """Each trial on its own schedule: the long ones look worst at epoch 1 and are pruned."""
    chosen = [search(study(seed), fair=False) for seed in SEEDS]
    assert sum(c == MOST for c in chosen) < 0.9 * len(SEEDS), chosen
