"""`pack`: `gpus_per_trial: auto` measured on the cluster and chosen (engine/packing.py
chooses). The measurement times `count` copies of one trial at once on one GPU, as `count`
packed trials would run.

Each copy runs as a Ray task in a placement group that holds one GPU, with `1/count` of it, and
is set up as a trial is (engine/worker.py). A small barrier actor holds the timing back until
every copy has warmed up; the copies keep training while they wait. A GPU task's worker exits
after it (Ray's max_calls=1 for GPU tasks), so no memory cap or cached GPU memory outlives the
probe.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from search.echo import Echo
from search.engine.packing import (
    MOST_PER_GPU,
    Probe,
    aggregate_rate,
    count_of_trials,
    heaviest_config,
    plan,
    share_of_one,
)
from search.engine.waiting import wait_until_placed
from search.engine.worker import set_up_worker
from search.errors import ClusterError, first_line
from search.study.spec import StudySpec
from trainable.probe import measure_steps

if TYPE_CHECKING:
    from ray import ObjectRef

    from trainable import Splits, TrainConfig
    from trainable.probe import StepProbe

PROBE_SECONDS = 4.0  # each count is timed this long, once all its copies are warm
WAIT_FOR_GPU_S = 120.0  # for a GPU of the cluster to come free for the probe
NOTICE_S = 10.0  # how often a wait for that GPU says so
PROBE_GIVE_UP_S = 600.0  # for one count's copies to finish
WHO = "resources: gpus_per_trial auto"


def pack(
    spec: StudySpec,
    nodes: list[dict[str, float]],
    splits: Splits | ObjectRef,
    echo: Echo,
) -> StudySpec:
    """The study with `gpus_per_trial: auto` measured and replaced by a number, and
    `search.concurrency`, where the study file leaves it out, filling every GPU."""
    gpu_nodes = [n for n in nodes if n.get("GPU", 0) >= 1]
    if not gpu_nodes:
        echo("resources: gpus_per_trial auto -> 0: the cluster has no GPU, trials run on CPUs")
        return _with(spec, 0, None)
    gpus = sum(int(n["GPU"]) for n in gpu_nodes)
    cpus = spec.resources.cpus_per_trial
    # The trials packed on every GPU of a node share its CPUs.
    cpu_fit = min(int(n.get("CPU", 0) // (cpus * int(n["GPU"]))) for n in gpu_nodes)
    limits = {
        f"{MOST_PER_GPU} at most": MOST_PER_GPU,
        "the CPUs beside each GPU (resources.cpus_per_trial)": max(1, cpu_fit),
    }
    set_by_user = "concurrency" in spec.search.model_fields_set
    if set_by_user:
        limits["search.concurrency"] = math.ceil(spec.search.concurrency / gpus)
    config = heaviest_config(spec)
    packing = plan(
        lambda count: time_copies(count, config, splits, cpus, echo), limits, config, echo
    )
    echo(packing.reason)
    return _with(spec, packing.gpus_per_trial, None if set_by_user else packing.per_gpu * gpus)


def time_copies(
    count: int,
    config: TrainConfig,
    splits: Splits | ObjectRef,
    cpus: float,
    echo: Echo,
) -> Probe:
    """`count` copies of `config` timed at once on one GPU; out_of_memory where any ran out."""
    from ray.util.placement_group import placement_group, remove_placement_group

    group = placement_group([{"GPU": 1, "CPU": count * cpus}])
    try:
        wanted = f"a GPU with {count * cpus:g} CPUs free beside it"
        wait_until_placed(
            lambda timeout: group.wait(timeout_seconds=timeout),
            who=WHO,
            waiting_for=wanted,
            gave_up=f"{WHO}: no GPU with {count * cpus:g} CPUs beside it came free in "
            f"{WAIT_FOR_GPU_S:.0f} s to time {count_of_trials(count)} on; free one, or set "
            "resources.gpus_per_trial to a number",
            echo=echo,
            notice_s=NOTICE_S,
            give_up_s=WAIT_FOR_GPU_S,
        )
        measured = _run_copies(group, count, config, splits, cpus)
    finally:
        remove_placement_group(group)
    if any(m is None for m in measured):
        return Probe(count, 0.0, out_of_memory=True)
    done = [m for m in measured if m is not None]
    return Probe(
        count,
        aggregate_rate([m.marks for m in done]),
        peak_bytes=max(m.peak_bytes for m in done),
        gpu_bytes=done[0].gpu_bytes,
    )


def _run_copies(
    group: Any, count: int, config: TrainConfig, splits: Splits | ObjectRef, cpus: float
) -> list[StepProbe | None]:
    """The copies' measurements, once all have ended; each failure is one line."""
    import ray
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    on_the_gpu = PlacementGroupSchedulingStrategy(group, 0)
    barrier = ray.remote(_Barrier).options(num_cpus=0, scheduling_strategy=on_the_gpu).remote()
    copy = ray.remote(_measure).options(
        num_cpus=cpus, num_gpus=share_of_one(count), scheduling_strategy=on_the_gpu
    )
    pending = [copy.remote(config, splits, cpus, barrier, count) for _ in range(count)]
    try:
        return ray.get(pending, timeout=PROBE_GIVE_UP_S)
    except ray.exceptions.GetTimeoutError:
        raise ClusterError(
            f"{WHO}: timing {count_of_trials(count)} on one GPU did not end in "
            f"{PROBE_GIVE_UP_S:.0f} s; set resources.gpus_per_trial to a number"
        ) from None
    except ray.exceptions.RayTaskError as exc:  # the data or the model: the user's to fix
        cause = exc.cause or exc
        reason = first_line(cause, type(cause).__name__)
        raise ClusterError(f"{WHO}: timing a trial failed: {reason}") from None


def _measure(
    config: TrainConfig, splits: Splits, cpus: float, barrier: Any, count: int
) -> StepProbe | None:
    """One copy, in its Ray worker: warm up, wait (training on) until every copy is warm,
    then time; None where it ran out of GPU memory."""
    import ray
    import torch

    worker = set_up_worker(cpus, share_of_one(count))
    arrived = False
    deadline = time.monotonic() + WAIT_FOR_GPU_S

    def all_warm() -> bool:
        nonlocal arrived
        if not arrived:
            ray.get(barrier.arrive.remote())
            arrived = True
        return ray.get(barrier.count.remote()) >= count or time.monotonic() > deadline

    try:
        return measure_steps(
            config,
            splits,
            seconds=PROBE_SECONDS,
            start_when=all_warm,
            num_workers=worker.loader_workers,  # as the trial will load files from disk
        )
    except torch.OutOfMemoryError:
        return None


def _with(spec: StudySpec, gpus_per_trial: float, concurrency: int | None) -> StudySpec:
    update: dict[str, Any] = {
        "resources": spec.resources.model_copy(update={"gpus_per_trial": float(gpus_per_trial)})
    }
    if concurrency is not None:
        update["search"] = spec.search.model_copy(update={"concurrency": concurrency})
    return spec.model_copy(update=update)


class _Barrier:
    """Counts the copies that are warm: timing starts once all of them are."""

    def __init__(self) -> None:
        self.arrived = 0

    def arrive(self) -> None:
        self.arrived += 1

    def count(self) -> int:
        return self.arrived
