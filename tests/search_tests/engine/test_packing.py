"""`gpus_per_trial: auto`: the packing chosen from measurements (fake GPUs here; the real
measuring path runs on a Ray cluster in test_ray_cluster.py)."""

from __future__ import annotations

import random
import warnings

import pytest

from search.engine import gpu_probe
from search.engine.packing import (
    NEAR_BEST,
    Packing,
    Probe,
    aggregate_rate,
    choose,
    heaviest_config,
    most_that_fit,
    plan,
    share_of_one,
)
from search.engine.worker import HEADROOM
from search.errors import ClusterError
from search.study.spec import StudySpec, parse_study_spec
from trainable import TrainConfig

GIB = 2**30
LIMITS = {"16 at most": 16}


class FakeGpu:
    """Aggregate images/s grows with the trials packed on it until the GPU saturates; past
    its memory, a count runs out of memory (which `plan` must never ask for)."""

    def __init__(self, alone: float, saturated: float, trial_gib: float, gpu_gib: float = 80):
        self.alone, self.saturated = alone, saturated
        self.trial, self.memory = int(trial_gib * GIB), int(gpu_gib * GIB)
        self.measured: list[int] = []

    def rate(self, count: int) -> float:
        return min(count * self.alone, self.saturated)

    def measure(self, count: int) -> Probe:
        self.measured.append(count)
        if count * self.trial > self.memory:
            return Probe(count, 0.0, out_of_memory=True)
        return Probe(count, self.rate(count), self.trial, self.memory)


def planned(gpu: FakeGpu, limits: dict[str, int] = LIMITS) -> Packing:
    return plan(gpu.measure, limits, TrainConfig(batch_size=256), lambda line: None)


def test_small_trials_pack_until_the_gpu_saturates() -> None:
    gpu = FakeGpu(alone=1000, saturated=3500, trial_gib=2)
    packing = planned(gpu)
    # 1 -> 2 -> 4 pays; 8 gains nothing over 4, so doubling stops there, and 4 is chosen.
    assert gpu.measured == [1, 2, 4, 8]
    assert packing.per_gpu == 4 and packing.gpus_per_trial == 0.25


def test_a_trial_that_fills_the_gpu_runs_alone() -> None:
    gpu = FakeGpu(alone=3000, saturated=3100, trial_gib=30)
    packing = planned(gpu)
    assert gpu.measured == [1, 2]  # two fit in 72 GiB; together they gain 3%
    assert packing.per_gpu == 1 and packing.gpus_per_trial == 1
    assert "more would only slow each trial down" in packing.reason


def test_memory_caps_the_packing_before_anything_runs_out_of_it() -> None:
    gpu = FakeGpu(alone=500, saturated=10_000, trial_gib=25)  # would scale to 16
    packing = planned(gpu)
    assert gpu.measured == [1, 2]  # 3 x 25 GiB > 90% of 80 GiB: 4 is never started
    assert packing.per_gpu == 2
    assert "no more than 2: GPU memory" in packing.reason
    assert "needs 25.0 GiB of 80.0 GiB" in packing.reason


def test_a_cap_that_is_not_a_power_of_two_is_measured_itself() -> None:
    gpu = FakeGpu(alone=500, saturated=10_000, trial_gib=1)
    packing = planned(gpu, {"16 at most": 16, "search.concurrency": 6})
    assert gpu.measured == [1, 2, 4, 6]
    assert packing.per_gpu == 6 and "no more than 6: search.concurrency" in packing.reason


def test_never_packs_more_than_fit_and_stays_near_the_best_fixed_packing() -> None:
    for seed in range(300):
        rng = random.Random(seed)
        gpu = FakeGpu(
            alone=rng.uniform(100, 5000),
            saturated=rng.uniform(100, 50_000),
            trial_gib=rng.uniform(0.3, 70),
            gpu_gib=rng.choice([80, 141]),
        )
        packing = planned(gpu)
        fit = max(1, int(gpu.memory * (1 - HEADROOM) // gpu.trial))
        assert all(n == 1 or n <= fit for n in gpu.measured), seed  # nothing runs out of memory
        assert packing.per_gpu <= fit, seed
        best_fixed = max(gpu.rate(n) for n in (1, 2, 4, 8, 16) if n <= fit)
        assert gpu.rate(packing.per_gpu) >= 0.9 * best_fixed, seed


def test_the_fewest_trials_near_the_best_are_chosen() -> None:
    probes = [Probe(1, 1000.0), Probe(2, 1900.0), Probe(4, 2000.0)]
    assert choose(probes, 16, LIMITS).per_gpu == 2  # 1900 is within 5% of 2000
    assert NEAR_BEST == 0.95


def test_a_count_that_ran_out_of_memory_is_never_chosen() -> None:
    probes = [Probe(1, 1000.0), Probe(2, 1800.0), Probe(4, 0.0, out_of_memory=True)]
    packing = choose(probes, 16, LIMITS)
    assert packing.per_gpu == 2 and "4 at once ran out of memory" in packing.reason


def test_one_trial_out_of_memory_alone_is_one_line_naming_batch_size() -> None:
    def measure(count: int) -> Probe:
        return Probe(count, 0.0, out_of_memory=True)

    with pytest.raises(ClusterError, match=r"one trial at batch_size=256 runs out of GPU memory"):
        plan(measure, LIMITS, TrainConfig(batch_size=256), lambda line: None)


def test_the_choice_is_said_in_one_line() -> None:
    lines: list[str] = []
    gpu = FakeGpu(alone=1000, saturated=3500, trial_gib=2)
    packing = plan(gpu.measure, LIMITS, TrainConfig(), lines.append)
    assert lines == [
        "resources: gpus_per_trial auto: timing one trial alone on one GPU",
        "resources: gpus_per_trial auto: timing 2 trials at once on one GPU",
        "resources: gpus_per_trial auto: timing 4 trials at once on one GPU",
        "resources: gpus_per_trial auto: timing 8 trials at once on one GPU",
    ]
    assert packing.reason == (
        "resources: gpus_per_trial auto -> 0.25 (4 trials a GPU): one alone trains 1,000 "
        "images/s, needs 2.0 GiB of 80.0 GiB; 2 at once 2,000 (2.00x); 4 at once 3,500 "
        "(3.50x); 8 at once 3,500 (3.50x); more would only slow each trial down"
    )


def test_shares_of_one_gpu_add_up_to_no_more_than_one() -> None:
    for count in range(1, 17):
        assert count * share_of_one(count) <= 1
        assert share_of_one(count) > 1 / count - 1e-4


def test_most_that_fit_keeps_headroom() -> None:
    assert most_that_fit(8 * GIB, 80 * GIB) == 9  # 72 GiB usable
    assert most_that_fit(0, 80 * GIB) == 16  # nothing measured (a CPU): no memory limit


def test_aggregate_rate_counts_only_the_window_all_copies_ran_in() -> None:
    # A ran alone at 100/s for 2 s, then shared: both at 50/s from t=2 to t=4.
    a = [(0.0, 0), (2.0, 200), (3.0, 250), (4.0, 300)]
    b = [(2.0, 0), (3.0, 50), (4.0, 100), (6.0, 300)]  # alone again at 100/s after t=4
    assert aggregate_rate([a, b]) == pytest.approx(100.0)
    assert aggregate_rate([a]) == pytest.approx(75.0)


def test_the_heaviest_configuration_has_the_largest_batch_and_trains_everything() -> None:
    spec = parse_study_spec(
        {
            "name": "s",
            "space": {
                "batch_size": {"type": "categorical", "choices": [32, 128, 64]},
                "freeze": {"type": "categorical", "choices": ["backbone", "none"]},
                "precision": {"type": "categorical", "choices": ["bf16", "fp32"]},
                "lr": {"type": "float", "low": 1e-4, "high": 1e-2},
            },
            "fixed": {"optimizer": "sgd"},
        }
    )
    heaviest = heaviest_config(spec)
    assert heaviest.batch_size == 128 and heaviest.freeze == "none"
    assert heaviest.precision == "fp32" and heaviest.optimizer == "sgd"
    ranged = parse_study_spec(
        {"name": "s", "space": {"batch_size": {"type": "int", "low": 8, "high": 96}}}
    )
    assert heaviest_config(ranged).batch_size == 96


def auto_study(**search) -> StudySpec:
    return parse_study_spec(
        {
            "name": "s",
            "resources": {"gpus_per_trial": "auto", "cpus_per_trial": 1},
            "search": search,
        }
    )


def test_without_a_gpu_auto_runs_trials_on_cpus() -> None:
    lines: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the number must serialize as the field's float
        spec = gpu_probe.pack(auto_study(), [{"CPU": 2.0}], None, lines.append)
        spec.model_dump(mode="json")
    assert spec.resources.gpus_per_trial == 0 and spec.search.concurrency == 1
    assert lines == [
        "resources: gpus_per_trial auto -> 0: the cluster has no GPU, trials run on CPUs"
    ]


def test_the_cpus_beside_the_gpus_cap_the_packing_and_concurrency_fills_the_gpus(
    monkeypatch,
) -> None:
    gpu = FakeGpu(alone=500, saturated=10_000, trial_gib=1)  # would pay up to 16
    monkeypatch.setattr(
        "search.engine.gpu_probe.time_copies", lambda count, *rest: gpu.measure(count)
    )
    nodes = [{"CPU": 8.0, "GPU": 2.0}]  # 8 CPUs for the trials of two GPUs: 4 a GPU
    spec = gpu_probe.pack(auto_study(), nodes, None, lambda line: None)
    assert gpu.measured == [1, 2, 4]
    assert spec.resources.gpus_per_trial == 0.25 and spec.search.concurrency == 8
    gpu.measured.clear()
    spec = gpu_probe.pack(auto_study(concurrency=3), nodes, None, lambda line: None)
    assert gpu.measured == [1, 2]  # 3 trials over 2 GPUs: no more than 2 on one
    assert spec.resources.gpus_per_trial == 0.5 and spec.search.concurrency == 3
