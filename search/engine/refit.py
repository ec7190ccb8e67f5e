"""Refit the best configuration on train + val, then evaluate it once on the test split.

The refit replays the best trial: same TrainConfig, same schedule, stopped at the epoch the
trial stands for (the one its curve chose when epochs is searched, else the last it ran: early
stopping may have ended it sooner). best_config.yaml says so: `epochs` to train, along a schedule
of `schedule_epochs`. It runs as a Ray task with a trial's GPU and every CPU the search used, so
on a cluster it lands where a GPU is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search.engine.trial_attrs import CHOSEN_EPOCHS
from search.errors import SearchFailed
from search.study.budget import EpochBudget
from search.study.spec import StudySpec

if TYPE_CHECKING:
    import optuna
    from ray import ObjectRef

    from trainable import Evaluation, Splits, TrainConfig


@dataclass(frozen=True)
class Refit:
    config: TrainConfig
    trial_number: int
    trial_value: float
    state_dict: dict[str, Any]
    history: list[dict[str, float]]
    test: Evaluation


def best_config(
    study: optuna.Study, spec: StudySpec
) -> tuple[TrainConfig, optuna.trial.FrozenTrial]:
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise SearchFailed(
            f"study {spec.name} has no complete trial to refit (all pruned or failed); "
            "see `hpsearch trials` for the reasons, then widen the space or relax the pruner"
        )
    best = study.best_trial
    budget = EpochBudget.of(spec)
    trained = spec.train_config(budget.trial_config(best.params))
    epochs = best.user_attrs.get(CHOSEN_EPOCHS) or len(best.intermediate_values)
    return budget.replay(trained, max(1, int(epochs))), best


def refit_best(study: optuna.Study, spec: StudySpec, splits: Splits | ObjectRef) -> Refit:
    """`splits` may be an ObjectRef: Ray hands the task the object, with no second copy."""
    import ray

    config, best = best_config(study, spec)
    cpus = max(
        spec.resources.cpus_per_trial,
        min(
            ray.cluster_resources().get("CPU", 1),
            spec.resources.cpus_per_trial * spec.search.concurrency,
        ),
    )
    gpus = math.ceil(spec.resources.gpus_per_trial)
    task = ray.remote(num_cpus=cpus, num_gpus=gpus)(_refit_and_test)
    state_dict, history, test = ray.get(task.remote(config, splits, cpus))
    return Refit(config, best.number, float(best.value), state_dict, history, test)


def _refit_and_test(config: TrainConfig, splits: Splits, cpus: float) -> tuple:
    import torch

    from trainable import evaluate, train

    torch.set_num_threads(max(1, int(cpus)))
    history = train(config, splits.for_refit())
    test = evaluate(history.model, splits.test, splits.classes)
    state = {k: v.detach().cpu() for k, v in history.model.state_dict().items()}
    return state, history.records, test
