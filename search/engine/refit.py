"""Refit the best configuration on train + val, then evaluate it once on the test split.

The refit replays the best trial: same TrainConfig, same schedule, stopped at the epoch the
trial stands for (the one its curve chose when epochs is searched, else the last it ran: early
stopping may have ended it sooner). best_config.yaml says so: `epochs` to train, along a schedule
of `schedule_epochs`. For multi-label data its `threshold` is the one that gave the best trial
its highest validation F-beta at that epoch: chosen on the validation split, before the test
split is touched; the test is scored at that threshold and at the trial's own.

It runs as a Ray actor with a trial's GPU (a whole one) and as many of the
search's CPUs as one node has, so on a cluster it lands where a GPU is.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.echo import Echo
from search.engine.cluster import (
    amount,
    data_unreadable_here,
    node_resources,
    placement,
    refit_resources,
)
from search.engine.waiting import wait_until_placed
from search.engine.worker import set_up_worker
from search.errors import ClusterError, SearchFailed, first_line
from search.rundir.refit_result import Fitted, Refit
from search.study.spec import StudySpec
from search.trials.attrs import CHOSEN_EPOCHS
from search.trials.curves import records_of
from search.trials.serving import cost_of
from search.trials.states import complete_trials
from trainable import DataError, TrainableError, evaluate, resolve_device, train
from trainable.export import export_onnx, onnx_agreement
from trainable.metrics import constant_baseline

if TYPE_CHECKING:
    import optuna
    from ray import ObjectRef

    from trainable import Splits, TrainConfig


NOTICE_S = 30.0  # how often a refit waiting for resources says so
GIVE_UP_S = 900.0  # how long it waits (an autoscaler may be starting a GPU node meanwhile)
POLL_S = 1.0  # how often the driver asks a running refit how far it is
OnEpoch = Callable[[int, int, str, dict[str, float]], None]  # epoch, of, device, record


def best_config(
    study: optuna.Study, spec: StudySpec
) -> tuple[TrainConfig, optuna.trial.FrozenTrial]:
    """The trial to refit (search.select's pick, within search.constraints) and the
    TrainConfig that replays it (its epochs, its schedule; multi-label: its validation-tuned
    threshold)."""
    if not complete_trials(study):
        raise SearchFailed(
            f"study {spec.name} has no complete trial to refit (all pruned or failed); "
            "see `hpsearch trials` for the reasons, then widen the space or relax the pruner"
        )
    limits = spec.search.constraints.limits
    winner = spec.search.select.pick(study, limits)
    if winner is None:
        raise SearchFailed(
            f"no complete trial of study {spec.name} meets search.constraints "
            f"({', '.join(f'{k} {v:g}' for k, v in limits.items())}); relax them, or raise "
            "search.trials so the search finds one that does"
        )
    return trial_config(winner, spec), winner


def trial_config(trial: optuna.trial.FrozenTrial, spec: StudySpec) -> TrainConfig:
    """The TrainConfig that replays a complete trial: its parameters, trained for the epochs
    its curve chose, along the schedule it followed."""
    budget = spec.trial_epochs
    trained = spec.train_config(budget.trial_config(trial.params))
    epochs = max(1, int(trial.user_attrs.get(CHOSEN_EPOCHS) or len(trial.intermediate_values)))
    config = budget.replay(trained, epochs)
    if spec.multilabel:
        config = config.model_copy(update={"threshold": tuned_threshold(trial, epochs, config)})
    return config


def tuned_threshold(trial: optuna.trial.FrozenTrial, epoch: int, config: TrainConfig) -> float:
    """The threshold at which the trial's validation F-beta was highest at `epoch`; the
    trial's own where its curves did not record one."""
    for record in records_of(trial):
        if int(record["epoch"]) == epoch and "val_best_threshold" in record:
            return float(record["val_best_threshold"])
    return config.threshold


def refit_best(
    config: TrainConfig,
    best: optuna.trial.FrozenTrial,
    spec: StudySpec,
    splits: Splits | ObjectRef,
    echo: Echo = print,
    *,
    give_up_s: float = GIVE_UP_S,
    on_epoch: OnEpoch | None = None,
) -> Refit:
    """Refit `config` (best_config's, for trial `best`) and test it once. `splits` may be an
    ObjectRef: Ray hands the refit the object, with no second copy.

    The refit asks for resources one node has (`refit_resources`); while no node has them
    free it says so every `NOTICE_S` seconds, and gives up after `give_up_s`.
    """
    import ray

    trial_threshold = float(best.params.get("threshold", spec.train_config().threshold))
    if spec.multilabel:
        echo(
            f"refit: threshold {config.threshold:g}, where trial {best.number}'s validation "
            f"F{config.beta:g} was highest (the trial ran at {trial_threshold:.3g})"
        )
    cpus, gpus = refit_resources(spec, node_resources())
    # Two threads: `progress` answers while `fit` trains.
    actor = ray.remote(num_cpus=cpus, num_gpus=gpus, max_concurrency=2)(_Refitter)
    attempts = 1 + spec.search.retries  # a worker that dies gets what a trial gets: a retry
    for attempt in range(1, attempts + 1):
        refitter = actor.remote()
        try:
            where = _placed(refitter, cpus, gpus, echo, give_up_s)
            fitted = refitter.fit.remote(config, splits, cpus, (trial_threshold,))
            result = _watched(refitter, fitted, config.epochs, on_epoch)
            break
        except ray.exceptions.RayActorError as exc:
            reason = first_line(exc, type(exc).__name__)
            if attempt == attempts:
                raise ClusterError(
                    f"refit: its Ray worker died ({reason}), {attempts} times; the search is "
                    "kept, run the same command again to refit"
                ) from None
            echo(
                f"refit: its Ray worker died ({reason}); trying again ({attempt + 1} of {attempts})"
            )
        except ray.exceptions.RayTaskError as exc:  # a user's mistake (data, model) is one line
            if isinstance(exc.cause, TrainableError):
                raise exc.cause from None
            raise
        finally:
            ray.kill(refitter)
    asked = amount(cpus, "CPU") + (f", {amount(gpus, 'GPU')}" if gpus else "")
    where = {**where, "resources": asked}
    cost = cost_of(best) or {}
    return Refit(config, best.number, float(best.value), best.params, result, where, cost)


def _placed(refitter: Any, cpus: float, gpus: int, echo: Echo, give_up_s: float) -> dict[str, str]:
    """Wait for the refit to be placed on a node, out loud; its placement once it is."""
    import ray

    wanted = amount(cpus, "CPU") + (f" and {amount(gpus, 'GPU')}" if gpus else "")
    where = refitter.where.remote()
    wait_until_placed(
        lambda timeout: bool(ray.wait([where], timeout=timeout)[0]),
        who="refit",
        waiting_for=f"a node with {wanted} free",
        gave_up=f"refit: no node had {wanted} free for {give_up_s:.0f} s; free them (`ray "
        "status` shows what holds them) and run the same command again to refit",
        echo=echo,
        notice_s=NOTICE_S,
        give_up_s=give_up_s,
    )
    return ray.get(where)


def _watched(refitter: Any, fitted: Any, epochs: int, on_epoch: OnEpoch | None) -> Fitted:
    """The refit's result, telling `on_epoch` of each epoch it trains meanwhile."""
    import ray

    shown = -1
    while True:
        ready, _ = ray.wait([fitted], timeout=POLL_S)
        if on_epoch is not None:
            try:  # a busy node may answer late: the next poll asks again
                epoch, device, record = ray.get(refitter.progress.remote(), timeout=NOTICE_S)
            except ray.exceptions.GetTimeoutError:
                epoch, device, record = shown, "", {}
            if device and epoch > shown:  # device: fit has begun
                on_epoch(epoch, epochs, device, record)
                shown = epoch
        if ready:
            return ray.get(fitted)


class _Refitter:
    """The refit as a Ray actor: placed first (so a wait for resources can be seen), then fit;
    `progress` says how far `fit` is."""

    def __init__(self) -> None:
        self.epoch, self.device, self.record = 0, "", {}

    def progress(self) -> tuple[int, str, dict[str, float]]:
        return self.epoch, self.device, self.record

    def where(self) -> dict[str, str]:

        return placement()

    def fit(
        self, config: TrainConfig, splits: Splits, cpus: float, thresholds: tuple[float, ...]
    ) -> Fitted:

        self.device = str(resolve_device(None))

        def report(epoch: int, record: dict[str, float]) -> None:
            self.epoch, self.record = epoch, record

        return train_and_test(config, splits, cpus, thresholds, report)


def train_and_test(
    config: TrainConfig,
    splits: Splits,
    cpus: float,
    thresholds: tuple[float, ...],
    report: Callable[[int, dict[str, float]], None] | None = None,
) -> Fitted:
    """The refit itself, in the process it was placed in: train on train + val with the
    worker set-up a trial of `cpus` CPUs has, then score the test split once (multi-label: at
    config.threshold, at `thresholds` and across a grid, beside the best constant answer), and
    export model.onnx, checked with ONNX Runtime on the test split."""

    unreadable = data_unreadable_here(splits)
    if unreadable:
        raise DataError(f"refit: {unreadable}")
    worker = set_up_worker(cpus, 0)  # a whole GPU, if any: no memory cap
    refit_splits = splits.for_refit()
    history = train(config, refit_splits, report=report, num_workers=worker.loader_workers)
    test = evaluate(
        history.model,
        splits.test,
        splits.classes,
        threshold=config.threshold,
        beta=config.beta,
        extra_thresholds=thresholds,
        precision=config.precision,  # bf16 and channels_last on a GPU, as training ran
    )
    if splits.multilabel:
        tags = list(splits.classes)
        constant = constant_baseline(
            refit_splits.train.labels, splits.test.labels, tags, config.beta
        )
        test = dataclasses.replace(test, constant=constant)
    state = {k: v.detach().cpu() for k, v in history.model.state_dict().items()}
    onnx, check = _exported(history.model, splits, config.threshold)
    return Fitted(state, history.records, test, onnx, check)


def _exported(model: Any, splits: Splits, threshold: float) -> tuple[bytes, dict[str, float]]:
    """model.onnx as bytes, and how it agrees with `model` on the test split."""

    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(model, splits.image_size, Path(folder) / "model.onnx", splits.multilabel)
        check = onnx_agreement(path, model, splits.test, splits.multilabel, threshold)
        return path.read_bytes(), check
