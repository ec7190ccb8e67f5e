"""What each backbone a study can reach costs to serve, measured once per study, image size and
device, before the first trial; and which of them `search.constraints` allows.

The measurement runs as a Ray task with a trial's resources (a whole GPU where trials have part
of one), so the figures are the device's the trials train on; a study on this machine's CPUs
measures in the driver itself, on as many threads as a trial has, sparing a worker's start.
They are kept in the Optuna study's user attrs (`serving_cost`: device -> "<size>px" ->
backbone -> figures): a resumed or extended study measures only what it has not measured on
that device yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search.engine.worker import set_up_worker
from search.errors import ClusterError, StudySpecError, first_line
from search.study.spec import StudySpec
from search.trials.serving import broken
from trainable import resolve_device
from trainable.cost import NOISY, serving_cost

if TYPE_CHECKING:
    import optuna

STUDY_ATTR = "serving_cost"
GIVE_UP_S = 900.0  # for the measurement to be placed and done (a GPU may be busy elsewhere)
Costs = dict[str, dict[str, float]]  # backbone -> params_m, macs_g, latency_ms, throughput


@dataclass(frozen=True)
class Serving:
    """The measured cost of each reachable backbone, and the study's bounds on it."""

    costs: Costs
    backbone: str  # model.backbone: every trial's, where the backbone is not searched
    limits: dict[str, float]
    device: str

    def cost_of(self, params: dict[str, Any]) -> dict[str, float]:
        return self.costs[str(params.get("backbone", self.backbone))]

    def allowed(self) -> list[str]:
        return [b for b, cost in self.costs.items() if broken(cost, self.limits) is None]


def measure_serving(
    spec: StudySpec, study: optuna.Study, num_classes: int, image_size: int, echo: Callable
) -> Serving:
    """Every reachable backbone's cost (measured, or read from the study), one line each; one
    line and no trial where search.constraints allows none of them."""
    known = study.user_attrs.get(STUDY_ATTR, {})
    arguments = (spec.backbones, num_classes, image_size, known, spec.resources.cpus_per_trial)
    if spec.ray.address is None and spec.resources.gpus_per_trial == 0:
        device, costs, measured = _measure_here(*arguments)
    else:
        device, costs, measured = _measure_on_a_trials_resources(spec, arguments)
    size = f"{image_size}px"
    table = {**known, device: {**known.get(device, {}), size: costs}}
    study.set_user_attr(STUDY_ATTR, table)
    for backbone, cost in costs.items():
        when = "measured now" if backbone in measured else "measured earlier"
        echo(f"serving cost: {backbone} at {image_size} px on {device}: {describe(cost)} ({when})")
    serving = Serving(costs, spec.model.backbone, spec.search.constraints.limits, device)
    _check_allowed(serving)
    return serving


def _measure_on_a_trials_resources(
    spec: StudySpec, arguments: tuple
) -> tuple[str, Costs, list[str]]:
    import ray

    gpus = math.ceil(spec.resources.gpus_per_trial)  # alone on its GPU: the figure is clean
    task = ray.remote(_measure).options(num_cpus=spec.resources.cpus_per_trial, num_gpus=gpus)
    pending = task.remote(*arguments)
    try:
        return ray.get(pending, timeout=GIVE_UP_S)
    except ray.exceptions.GetTimeoutError:
        ray.cancel(pending, force=True)
        raise ClusterError(
            f"serving cost: measuring {', '.join(spec.backbones)} did not end in "
            f"{GIVE_UP_S:.0f} s (no node free with a trial's resources?); free one and run again"
        ) from None
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause or exc
        raise ClusterError(f"serving cost: {first_line(cause, type(cause).__name__)}") from None


def _measure_here(*arguments: Any) -> tuple[str, Costs, list[str]]:
    """In the driver: its torch threads as a trial's while it measures, then as they were."""
    import torch

    threads = torch.get_num_threads()
    try:
        return _measure(*arguments)
    finally:
        torch.set_num_threads(threads)


def describe(cost: dict[str, float]) -> str:
    spread = cost.get("latency_spread", 0.0)
    noisy = (
        f" (noisy: its timings spread {spread:.0%}; other work shares the device, so close "
        "latencies do not rank)"
        if spread > NOISY
        else ""
    )
    return (
        f"{cost['params_m']:.2f} M params, {cost['macs_g']:.3g} GMACs, "
        f"{cost['latency_ms']:.3g} ms an image{noisy}, "
        f"{cost['throughput']:,.0f} images/s at batch 64"
    )


def _check_allowed(serving: Serving) -> None:
    if not serving.limits or serving.allowed():
        return
    each = "; ".join(f"{b}: {broken(c, serving.limits)}" for b, c in serving.costs.items())
    bounds = ", ".join(f"{k} {v:g}" for k, v in serving.limits.items())
    raise StudySpecError(
        f"search.constraints ({bounds}) are met by no backbone of the study on "
        f"{serving.device} ({each}); relax them, or add a smaller backbone to space.backbone"
    )


def _measure(
    backbones: list[str], num_classes: int, image_size: int, known: dict, cpus: float
) -> tuple[str, Costs, list[str]]:
    """(device, each backbone's figures, the backbones measured now)."""

    set_up_worker(cpus, 0)  # threads as a trial's; alone on its GPU
    device = resolve_device(None)
    name = _device_name(device)
    have = known.get(name, {}).get(f"{image_size}px", {})
    costs, measured = {}, []
    for backbone in backbones:
        if backbone not in have:
            figures = serving_cost(backbone, num_classes, image_size, device=device).as_dict()
            figures.pop("device")
            have = {**have, backbone: figures}
            measured.append(backbone)
        costs[backbone] = have[backbone]
    return name, costs, measured


def _device_name(device: Any) -> str:
    import torch

    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
