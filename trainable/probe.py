"""`measure_steps()`: how fast one configuration trains here, and how much GPU memory it needs.

It sets a run up exactly as `train()` does (model, batches, augmentation, loss, optimizer) and
times optimizer steps after a warm-up, syncing the device every few steps so each mark is
work done, not work queued. Several processes measuring at once on one GPU show what packing
them there gives: their marks share a clock (`time.time()`), so the common window can be cut
out afterwards (`search.engine.packing.aggregate_rate`).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from trainable.config import TrainConfig
from trainable.data import Splits
from trainable.evaluation import resolve_device
from trainable.loop import Fit

# Where NVML cannot see this process (a container's own pid space), the CUDA context's memory
# is taken to be this much: more than CUDA 12 contexts with PyTorch's kernels loaded take.
CONTEXT_GUESS_BYTES = 1 << 30


@dataclass(frozen=True)
class StepProbe:
    device: str  # "cuda" or "cpu"
    marks: list[tuple[float, int]] = field(default_factory=list)  # (time.time(), images so far)
    peak_bytes: int = 0  # the caching allocator's peak plus the CUDA context; 0 on a CPU
    gpu_bytes: int = 0  # the GPU's whole memory; 0 on a CPU

    @property
    def images_per_second(self) -> float:
        (start, _), (end, images) = self.marks[0], self.marks[-1]
        return images / (end - start) if end > start else 0.0


def measure_steps(
    cfg: TrainConfig,
    splits: Splits,
    *,
    device: str | torch.device | None = None,
    seconds: float = 4.0,
    warmup_steps: int = 5,
    steps_per_mark: int = 10,
    num_workers: int = 0,
    start_when: Callable[[], bool] | None = None,
) -> StepProbe:
    """Train `cfg` on `splits.train` (round and round) for about `seconds` after
    `warmup_steps`; raises torch.OutOfMemoryError where it does not fit.

    `start_when`, asked after the warm-up and then every `steps_per_mark` steps (training on
    meanwhile), holds the timing back until it says yes: copies measured at once start
    together."""
    device = resolve_device(device)
    cuda = device.type == "cuda"
    fit = Fit.set_up(cfg, splits, device, num_workers)
    fit.model.train()
    batches = itertools.chain.from_iterable(itertools.repeat(fit.batches))

    def steps(count: int) -> int:
        images = 0
        for batch, labels in itertools.islice(batches, count):
            fit.step(batch, labels, scheduled=False)
            images += len(labels)
        if cuda:
            torch.cuda.synchronize(device)
        return images

    steps(warmup_steps)
    while start_when is not None and not start_when():
        steps(steps_per_mark)
    done, marks = 0, [(time.time(), 0)]
    while marks[-1][0] - marks[0][0] < seconds:
        done += steps(steps_per_mark)
        marks.append((time.time(), done))
    if not cuda:
        return StepProbe("cpu", marks)
    reserved = torch.cuda.max_memory_reserved(device)
    return StepProbe(
        "cuda",
        marks,
        peak_bytes=reserved + _context_bytes(device),
        gpu_bytes=torch.cuda.get_device_properties(device).total_memory,
    )


def _context_bytes(device: torch.device) -> int:
    """This process's GPU memory outside PyTorch's caching allocator (the CUDA context and
    its kernels), from NVML's per-process count; `CONTEXT_GUESS_BYTES` where NVML cannot say."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            handle = _nvml_handle(pynvml, device)
            for process in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
                if process.pid == os.getpid() and process.usedGpuMemory:
                    return max(0, process.usedGpuMemory - torch.cuda.memory_reserved(device))
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no NVML library, no permission, an old driver: take the guess
        pass
    return CONTEXT_GUESS_BYTES


def _nvml_handle(pynvml, device: torch.device):  # type: ignore[no-untyped-def]
    """NVML counts GPUs physically; CUDA_VISIBLE_DEVICES (set by Ray) renumbers them."""
    index = device.index or 0
    visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v]
    if index < len(visible):
        name = visible[index]
        if name.isdigit():
            return pynvml.nvmlDeviceGetHandleByIndex(int(name))
        return pynvml.nvmlDeviceGetHandleByUUID(name)
    return pynvml.nvmlDeviceGetHandleByIndex(index)
