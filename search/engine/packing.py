"""`gpus_per_trial: auto`: measure a trial on one GPU, then pack as many per GPU as fit and pay.

Before the search, the study's most memory-hungry configuration (`heaviest_config`) trains for
a few seconds alone on one GPU, then two copies at once, then four, and so on (Ray tasks in a
placement group that holds one GPU, as packed trials would share it). Doubling stops where the
next count would not fit the GPU's memory with `HEADROOM` kept free, or where doubling raised
the aggregate images/s by less than `GAIN`. The packing chosen is the fewest trials per GPU
within `NEAR_BEST` of the best aggregate measured: more trials at once would only make each
one slower. The choice and its reason are one line.

The measuring itself (Ray tasks on one GPU), and `pack`, which measures and then chooses, are
engine/gpu_probe.py. Every trial then runs with
a share of the GPU's memory as the caching allocator's limit (engine/worker.py), so a trial that
outgrows the measurement fails alone with out-of-memory, and never takes its neighbours with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search.echo import Echo
from search.engine.worker import HEADROOM
from search.errors import ClusterError
from search.study.params import reachable
from search.study.spec import StudySpec

if TYPE_CHECKING:
    from trainable import TrainConfig

GAIN = 1.10  # doubling the trials on a GPU must raise its aggregate images/s this much
NEAR_BEST = 0.95  # the fewest trials per GPU whose aggregate is within this of the best
MOST_PER_GPU = 16


@dataclass(frozen=True)
class Probe:
    """`per_gpu` copies of one trial, measured at once on one GPU."""

    per_gpu: int
    images_per_second: float  # all copies together, over the time they all ran
    peak_bytes: int = 0  # the most any copy needed, its CUDA context included; 0: a CPU
    gpu_bytes: int = 0  # the GPU's memory; 0: no GPU memory to fit (a CPU)
    out_of_memory: bool = False


@dataclass(frozen=True)
class Packing:
    per_gpu: int
    reason: str  # one line

    @property
    def gpus_per_trial(self) -> float:
        return share_of_one(self.per_gpu)


def share_of_one(per_gpu: int) -> float:
    """1/per_gpu, rounded down to Ray's 4 decimals so that per_gpu of them fit one GPU."""
    return math.floor(10_000 / per_gpu) / 10_000


def most_that_fit(trial_bytes: int, gpu_bytes: int, headroom: float = HEADROOM) -> int:
    """How many trials of `trial_bytes` fit a GPU of `gpu_bytes` with `headroom` kept free."""
    if trial_bytes <= 0 or gpu_bytes <= 0:
        return MOST_PER_GPU  # nothing measured to fit (a CPU): the other limits decide
    return int(gpu_bytes * (1 - headroom) // trial_bytes)


def next_to_try(probes: Sequence[Probe], cap: int) -> int | None:
    """The next count of trials per GPU worth measuring (doubling from 1), or None: the last
    one ran out of memory, reached `cap`, or raised the aggregate by less than `GAIN`."""
    if not probes:
        return 1
    last = probes[-1]
    if last.out_of_memory:
        return None
    if len(probes) > 1 and last.images_per_second < GAIN * probes[-2].images_per_second:
        return None
    following = min(2 * last.per_gpu, cap)
    return following if following > last.per_gpu else None


def choose(probes: Sequence[Probe], cap: int, limits: dict[str, int]) -> Packing:
    """The fewest trials per GPU whose aggregate images/s is within NEAR_BEST of the best
    measured, and why, in one line. `limits` names what capped the count (for the line)."""
    usable = [p for p in probes if not p.out_of_memory and p.per_gpu <= cap]
    if not usable:
        raise ValueError("no count of trials per GPU was measured without running out of memory")
    best = max(p.images_per_second for p in usable)
    near_best = [p for p in usable if p.images_per_second >= NEAR_BEST * best]
    chosen = min(near_best, key=lambda p: p.per_gpu)
    alone = next(p for p in usable if p.per_gpu == 1)
    return Packing(chosen.per_gpu, _reason(chosen, alone, probes, cap, limits))


def _reason(
    chosen: Probe, alone: Probe, probes: Sequence[Probe], cap: int, limits: dict[str, int]
) -> str:
    head = (
        f"resources: gpus_per_trial auto -> {share_of_one(chosen.per_gpu):g} "
        f"({count_of_trials(chosen.per_gpu)} a GPU): "
    )
    memory = ""
    if alone.peak_bytes and alone.gpu_bytes:
        memory = f", needs {_gib(alone.peak_bytes)} of {_gib(alone.gpu_bytes)}"
    parts = [f"one alone trains {alone.images_per_second:,.0f} images/s{memory}"]
    for probe in probes:
        if probe.per_gpu == 1:
            continue
        if probe.out_of_memory:
            parts.append(f"{probe.per_gpu} at once ran out of memory")
            continue
        ratio = probe.images_per_second / alone.images_per_second
        parts.append(f"{probe.per_gpu} at once {probe.images_per_second:,.0f} ({ratio:.2f}x)")
    last = probes[-1]
    if chosen.per_gpu < max(p.per_gpu for p in probes if not p.out_of_memory):
        parts.append("more would only slow each trial down")
    elif last.per_gpu == cap and not last.out_of_memory:
        capped_by = [name for name, value in limits.items() if value == cap]
        parts.append(f"no more than {cap}: {' and '.join(capped_by)}")
    return head + "; ".join(parts)


def count_of_trials(count: int) -> str:
    return "1 trial" if count == 1 else f"{count} trials"


def _gib(count: int) -> str:
    return f"{count / 2**30:.1f} GiB"


def aggregate_rate(marks: Sequence[Sequence[tuple[float, int]]]) -> float:
    """Images/s of several copies together, over the window in which all of them were timed:
    each copy's (time, images so far) marks, interpolated at the window's two ends."""
    start = max(m[0][0] for m in marks)
    end = min(m[-1][0] for m in marks)
    if end <= start:  # the copies never ran at once: their own rates are all there is
        return sum(m[-1][1] / (m[-1][0] - m[0][0]) for m in marks if m[-1][0] > m[0][0])
    return sum((_images_at(m, end) - _images_at(m, start)) / (end - start) for m in marks)


def _images_at(marks: Sequence[tuple[float, int]], when: float) -> float:
    import numpy as np

    times, images = zip(*marks, strict=True)
    return float(np.interp(when, times, images))


def heaviest_config(spec: StudySpec) -> TrainConfig:
    """The configuration of the space that needs the most GPU memory: its largest batch_size,
    the whole network trained, fp32 and AdamW where those are among the choices."""
    heaviest: dict[str, Any] = {}
    for name, param in spec.space.items():
        values = reachable(param)
        if name == "batch_size":
            heaviest[name] = max(v for v in values if isinstance(v, (int, float)))
        elif name in _HEAVIEST_CHOICE and _HEAVIEST_CHOICE[name] in values:
            heaviest[name] = _HEAVIEST_CHOICE[name]
    return spec.train_config(heaviest)


_HEAVIEST_CHOICE = {"freeze": "none", "precision": "fp32", "optimizer": "adamw"}


def plan(
    measure: Callable[[int], Probe],
    limits: dict[str, int],
    config: TrainConfig,
    echo: Echo,
) -> Packing:
    """Measure one trial alone, then double the trials per GPU while that fits `limits`, the
    GPU's memory (known once one trial is measured) and pays; choose among what was measured.
    `measure(count)` times `count` copies of `config` at once on one GPU."""
    limits = dict(limits)
    probes: list[Probe] = []
    while (count := next_to_try(probes, min(limits.values()))) is not None:
        what = "one trial alone" if count == 1 else f"{count} trials at once"
        echo(f"resources: gpus_per_trial auto: timing {what} on one GPU")
        probes.append(measure(count))
        if count == 1:
            _check_fits_alone(probes[0], config)
            if probes[0].peak_bytes and probes[0].gpu_bytes:  # a CPU has no GPU memory to fit
                fit = most_that_fit(probes[0].peak_bytes, probes[0].gpu_bytes)
                limits["GPU memory"] = max(1, fit)  # alone, a trial has all of it
    return choose(probes, min(limits.values()), limits)


def _check_fits_alone(alone: Probe, config: TrainConfig) -> None:
    if alone.out_of_memory:
        raise ClusterError(
            f"resources: gpus_per_trial auto: one trial at batch_size={config.batch_size} "
            "runs out of GPU memory alone; lower the highest batch_size of the space"
        )


__all__ = [
    "Packing",
    "Probe",
    "aggregate_rate",
    "choose",
    "count_of_trials",
    "heaviest_config",
    "plan",
]
