"""GPU throughput, side by side in one run: train() against a bare loop, augmentation on and
off, and N trials packed on one GPU through `hpsearch run`'s own path; ratios printed, JSON out.

For each workload (a backbone, an image size, a batch size, in-memory FakeData):

- alone: `train()` against the bare PyTorch loop of trainable_throughput.py (same model,
  batch, bf16 autocast and channels_last on CUDA), rounds alternating, first epoch dropped;
- augment: `train()` with augment standard against none;
- packed: `run_study` with N trials at once, gpus_per_trial 1/N (N = 1, 2, 4, 8): aggregate
  images/s (the trials' per-epoch rates summed, first epoch dropped), GPU busy % (NVML, sampled
  every 0.1 s while all N trials ran), peak memory per trial and the fraction of each epoch
  spent waiting for data;
- auto: what `gpus_per_trial: auto` chooses here, against the best N measured above.

    python benchmarks/gpu_throughput.py --out gpu.json                 # a GPU: every workload
    python benchmarks/gpu_throughput.py --workloads resnet18_32 --out r18.json
    python benchmarks/gpu_throughput.py --tiny --out tiny.json         # anywhere, in a minute
    python benchmarks/gpu_throughput.py --steps alone --out alone.json # no Ray: train() alone

Nothing is downloaded: random weights (throughput does not depend on them) and FakeData.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import recorded
import torch
from trainable_throughput import bare_loop, train_rates

from trainable import FakeData, TrainConfig, prepare, resolve_device


@dataclass(frozen=True)
class Workload:
    backbone: str
    image_size: int
    batch_size: int
    samples: int  # training images; val and test get a sliver (validation is not timed)
    epochs: int = 3  # per run; the first is warm-up
    classes: int = 10

    @property
    def held_out(self) -> float:
        """The val (and test) fraction: 2%, or two images a class where that is more."""
        return max(0.02, 2 * self.classes / self.samples)


WORKLOADS = {
    "resnet50_224": Workload("resnet50", 224, 256, 8192),
    "resnet18_32": Workload("resnet18", 32, 256, 50_000),
    "efficientnet_b0_96": Workload("efficientnet_b0", 96, 128, 16_384),
    "lite0_64": Workload("efficientnet_lite0", 64, 128, 16_384),
}
TINY = {"lite0_16": Workload("efficientnet_lite0", 16, 16, 96, epochs=2, classes=3)}


def fake_data(work: Workload) -> FakeData:
    return FakeData(
        source="fake",
        samples=int(work.samples / (1 - 2 * work.held_out)) + 1,
        classes=work.classes,
        image_size=work.image_size,
        val_fraction=work.held_out,
        test_fraction=work.held_out,
    )


def config(work: Workload, **changes: Any) -> TrainConfig:
    return TrainConfig(
        backbone=work.backbone,
        weights="none",
        epochs=work.epochs,
        batch_size=work.batch_size,
        lr=1e-4,
        **changes,
    )


def alone(work: Workload, splits, device, rounds: int) -> dict[str, Any]:
    """train() against the bare loop, then augmentation on against off, rounds alternating."""
    cfg = config(work)
    images, labels = splits.train.images.tensor, splits.train.labels
    bare, ours, augmented = [], [], []
    for _ in range(rounds):
        bare += bare_loop(cfg, images, labels, device)
        ours += train_rates(cfg, splits, device)
        augmented += train_rates(cfg.model_copy(update={"augment": "standard"}), splits, device)
    bare_rate, our_rate = statistics.median(bare), statistics.median(ours)
    return {
        "bare_images_per_second": bare_rate,
        "train_images_per_second": our_rate,
        "train_over_bare": our_rate / bare_rate,
        "augmented_images_per_second": statistics.median(augmented),
        "augmented_over_plain": statistics.median(augmented) / our_rate,
    }


class GpuBusy:
    """NVML's utilization (the share of time a kernel ran) of GPU 0, sampled every 0.1 s."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self._nvml = pynvml
        except Exception:  # no GPU, no NVML: busy % is not measured
            self._nvml = None

    def __enter__(self) -> GpuBusy:
        if self._nvml is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._nvml is not None:
            self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            busy = self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu
            self.samples.append((time.time(), busy))

    def between(self, start: float, end: float) -> float | None:
        chosen = [busy for when, busy in self.samples if start <= when <= end]
        return statistics.mean(chosen) if chosen else None


def study(work: Workload, per_gpu: int | str, cpus: float, name: str) -> dict[str, Any]:
    """N trials of the workload at once, through run_study (the `hpsearch run` path)."""
    from search.engine.packing import share_of_one

    gpus = (
        "auto"
        if per_gpu == "auto"
        else (share_of_one(per_gpu) if resolve_device(None).type == "cuda" else 0)
    )
    count = 1 if per_gpu == "auto" else per_gpu
    return {
        "name": name,
        "data": fake_data(work).model_dump(mode="json"),
        "model": {"backbone": work.backbone, "weights": "none"},
        "space": {"lr": {"type": "float", "low": 1e-4, "high": 2e-4}},
        "fixed": {"epochs": work.epochs, "batch_size": work.batch_size, "augment": "none"},
        # One failure (out of memory, say) ends the run: it is the figure for this packing.
        "search": {"trials": count, "concurrency": count, "pruner": "none", "max_failed_trials": 0},
        "resources": {"cpus_per_trial": cpus, "gpus_per_trial": gpus},
    }


def packed(work: Workload, per_gpu: int, cpus: float, folder: Path) -> dict[str, Any]:
    import optuna
    from optuna.trial import TrialState

    from search.errors import HPSearchError
    from search.run import run_study
    from search.study.spec import parse_study_spec
    from search.trials.attrs import FAIL_REASON
    from search.trials.curves import records_of

    spec = parse_study_spec(study(work, per_gpu, cpus, f"packed-{per_gpu}"))
    run_dir = folder / spec.name
    with GpuBusy() as busy:
        try:
            run_study(spec, run_dir, echo=lambda line: None, search_only=True)  # trials alone
        except HPSearchError as exc:  # every trial failed (out of memory, say)
            print(f"  {per_gpu} at once: {exc}")
    storage = f"sqlite:///{run_dir / 'optuna.db'}"
    trials = optuna.load_study(study_name=spec.name, storage=storage).trials
    failed = [t.user_attrs.get(FAIL_REASON, "") for t in trials if t.state == TrialState.FAIL]
    if failed or not trials:
        return {"trials": len(trials), "failed": failed[0] if failed else "no trial ran"}
    records = [records_of(t)[1:] for t in trials]  # the first epoch is warm-up
    rates = [statistics.median(r["images_per_second"] for r in rs) for rs in records]
    together = (
        max(t.datetime_start for t in trials).timestamp(),
        min(t.datetime_complete for t in trials).timestamp(),
    )
    peaks = [r.get("peak_memory_mib") for rs in records for r in rs]
    return {
        "trials": len(trials),
        "aggregate_images_per_second": sum(rates),
        "per_trial_images_per_second": rates,
        "gpu_busy_percent": busy.between(*together),
        "peak_memory_mib_per_trial": max(peaks) if all(peaks) else None,
        "data_wait_fraction": statistics.mean(
            r["data_wait_fraction"] for rs in records for r in rs
        ),
    }


def auto(work: Workload, cpus: float, splits) -> dict[str, Any]:
    """What gpus_per_trial: auto chooses, through the function `hpsearch run` calls."""
    import ray

    from search.engine.cluster import node_resources
    from search.engine.gpu_probe import pack
    from search.study.spec import parse_study_spec

    raw = study(work, "auto", cpus, "auto")
    del raw["search"]["concurrency"]
    lines: list[str] = []
    chosen = pack(parse_study_spec(raw), node_resources(), ray.put(splits), lines.append)
    return {"gpus_per_trial": chosen.resources.gpus_per_trial, "line": lines[-1]}


STEPS = ("alone", "packed", "auto")


def print_alone(name: str, work: Workload, splits, a: dict[str, Any]) -> None:
    size = f"{work.backbone} {work.image_size} px, batch {work.batch_size}"
    print(f"\n{name}: {size}, {len(splits.train)} training images")
    print(f"  bare loop  {a['bare_images_per_second']:10,.0f} images/s")
    ratio = f"ratio train()/bare = {a['train_over_bare']:.3f}"
    print(f"  train()    {a['train_images_per_second']:10,.0f} images/s  {ratio}")
    ratio = f"ratio augment/none = {a['augmented_over_plain']:.3f}"
    print(f"  augmented  {a['augmented_images_per_second']:10,.0f} images/s  {ratio}")


def print_packed(name: str, packings: dict[int, dict[str, Any]]) -> None:
    print(f"\n{name}: packed trials through run_study")
    ran = {n: p for n, p in packings.items() if "failed" not in p}
    one = ran[min(ran)]["aggregate_images_per_second"] if ran else 1.0
    for n, p in packings.items():
        if "failed" in p:
            print(f"  {n} at once  failed: {p['failed']}")
            continue
        busy = "n/a" if p["gpu_busy_percent"] is None else f"{p['gpu_busy_percent']:.0f}%"
        memory = (
            "n/a"
            if p["peak_memory_mib_per_trial"] is None
            else f"{p['peak_memory_mib_per_trial']:,.0f} MiB"
        )
        print(
            f"  {n} at once  {p['aggregate_images_per_second']:10,.0f} images/s  "
            f"x{p['aggregate_images_per_second'] / one:.2f}  busy {busy}  "
            f"peak {memory} a trial  waiting for data {p['data_wait_fraction']:.1%}"
        )


def auto_against_packed(entry: dict[str, Any]) -> None:
    """Adds how auto's choice compares with the best fixed packing measured, where both ran."""
    ran = {n: p for n, p in entry.get("packed", {}).items() if "failed" not in p}
    share = entry["auto"]["gpus_per_trial"]
    chosen_n = round(1 / share) if share else None  # None: no GPU, nothing to pack
    if chosen_n in ran:
        best_rate = max(p["aggregate_images_per_second"] for p in ran.values())
        ratio = ran[chosen_n]["aggregate_images_per_second"] / best_rate
        entry["auto"]["over_best_fixed"] = ratio
        print(f"  auto       {chosen_n} at once: ratio auto/best fixed = {ratio:.3f}")
    print(f"  {entry['auto']['line']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workloads", nargs="*", default=list(WORKLOADS), choices=[*WORKLOADS, *TINY]
    )
    parser.add_argument("--steps", nargs="*", default=list(STEPS), choices=STEPS)
    parser.add_argument("--packings", nargs="*", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cpus-per-trial", type=float, default=1)
    parser.add_argument("--tiny", action="store_true", help="one tiny workload on any machine")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/gpu_throughput[.tiny].json"
    )
    args = parser.parse_args()
    out = args.out or recorded.beside("gpu_throughput", "tiny" if args.tiny else None)
    if args.tiny:
        args.workloads, args.packings, args.rounds = list(TINY), [1, 2], 1
    device = resolve_device(None)
    where = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(f"device: {where}")
    results: dict[str, Any] = {"device": where, "workloads": {}}
    for name in args.workloads:
        work = {**WORKLOADS, **TINY}[name]
        splits = prepare(fake_data(work))
        entry: dict[str, Any] = {"workload": work.__dict__}
        results["workloads"][name] = entry
        if "alone" in args.steps:
            entry["alone"] = alone(work, splits, device, args.rounds)
            print_alone(name, work, splits, entry["alone"])
            recorded.save(out, results, complete=False)  # a step at a time
        if "packed" in args.steps:
            with tempfile.TemporaryDirectory() as folder:
                entry["packed"] = {
                    n: packed(work, n, args.cpus_per_trial, Path(folder)) for n in args.packings
                }
            print_packed(name, entry["packed"])
            recorded.save(out, results, complete=False)
        if "auto" in args.steps:
            entry["auto"] = auto(work, args.cpus_per_trial, splits)
            auto_against_packed(entry)
        recorded.save(out, results, complete=name == args.workloads[-1])
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
