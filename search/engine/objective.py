"""The function Ray runs for one trial: config dict -> TrainConfig -> trainable.train(...).

Failures that come from the configuration itself (a diverged loss, CUDA out of memory, a
config trainable rejects) are reported as a last result `{"failed": reason}` instead of raised:
they are deterministic, so Ray must not retry them, and the searcher records the reason.
Anything else raises, and counts as a transient failure of the trial.
"""

from __future__ import annotations

from typing import Any

import ray
from pydantic import ValidationError
from ray import ObjectRef

from search.engine.cluster import data_unreadable_here, placement
from search.engine.worker import set_up_worker
from search.study.spec import StudySpec
from search.trials.attrs import RACE_SPLIT_SEED
from trainable import Splits, TrainableError, train


def objective(config: dict[str, Any], *, splits: Splits | ObjectRef, spec: StudySpec) -> None:
    """`splits` is the driver's one copy in the object store (an ObjectRef), or Splits."""
    import torch
    from ray import tune

    if isinstance(splits, ray.ObjectRef):
        splits = ray.get(splits)
    config = dict(config)
    split_seed = config.pop(RACE_SPLIT_SEED, None)
    if split_seed is not None:  # a race run: train/val drawn again from their pool
        splits = splits.reshuffled(int(split_seed))
    worker = set_up_worker(spec.resources.cpus_per_trial, spec.resources.gpus_per_trial)
    here = placement()  # each report says where the trial runs; the searcher records it
    unreadable = data_unreadable_here(splits)
    if unreadable:
        tune.report({"failed": f"DataError: {unreadable}", **here})
        return
    try:
        train(
            spec.train_config(config),
            splits,
            report=lambda epoch, metrics: tune.report({**metrics, **here}),
            num_workers=worker.loader_workers,
        )
    except (TrainableError, ValidationError) as exc:
        tune.report({"failed": f"{type(exc).__name__}: {exc}", **here})
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        batch = config.get("batch_size") or spec.train_config().batch_size
        share = worker.memory_share
        allowed = f" ({share:.0%} of the GPU's memory, its share)" if share else ""
        tune.report(
            {
                "failed": f"CUDA out of memory at batch_size={batch}{allowed}: lower "
                "batch_size, or give each trial more of the GPU (gpus_per_trial)",
                **here,
            }
        )
