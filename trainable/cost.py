"""What a backbone costs to serve: parameters, multiply-accumulates and inference speed.

Measured on a model as it is served (the Classifier with its head for the study's classes,
uint8 images in, the training precision's forward), after a warm-up; each speed is the median
of repeated timings, the device synced around each, so a figure is work done, not work queued.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import torch

from trainable.evaluation import forward, on_device, resolve_device
from trainable.models import build_model

BATCH = 64  # the throughput figure's batch
NOISY = 0.10  # a latency whose timings' interquartile range passes 10 % of their median


@dataclass(frozen=True)
class ServingCost:
    params_m: float  # millions of parameters, head included
    macs_g: float  # billions of multiply-accumulates for one image
    latency_ms: float  # one image at batch 1, median
    throughput: float  # images/s at batch BATCH, median
    device: str  # "cpu", or the GPU's name
    latency_spread: float = 0.0  # the batch-1 timings' interquartile range over their median

    @property
    def noisy(self) -> bool:
        """The timings varied too much for the latency to rank close backbones."""
        return self.latency_spread > NOISY

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def serving_cost(
    backbone: str,
    num_classes: int,
    image_size: int,
    *,
    device: str | torch.device | None = None,
    precision: str = "auto",
    repeats: int = 10,
) -> ServingCost:
    """Measure `backbone` (random weights: they cost the same) at `image_size` px; `repeats`
    timings at batch 1, at most three at batch 64, each after two of warm-up."""
    device = resolve_device(device)
    model = build_model(backbone, "none", num_classes, dropout=0.0).eval()
    params = sum(p.numel() for p in model.parameters())
    macs = _macs(model, image_size)
    on_device(device, model)
    one = torch.randint(0, 256, (1, 3, image_size, image_size), dtype=torch.uint8, device=device)
    batch = one.expand(BATCH, -1, -1, -1).contiguous()
    with torch.inference_mode():
        single = _timings(lambda: forward(model, one, device, precision), device, repeats)
        full = statistics.median(  # batches take longer: at most three timings
            _timings(lambda: forward(model, batch, device, precision), device, min(3, repeats))
        )
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    median = statistics.median(single)
    quartiles = statistics.quantiles(single, n=4) if len(single) > 1 else [median] * 3
    return ServingCost(
        params_m=round(params / 1e6, 3),
        macs_g=round(macs / 1e9, 4),
        latency_ms=round(median * 1000, 3),
        throughput=round(BATCH / full, 1),
        device=name,
        latency_spread=round((quartiles[2] - quartiles[0]) / median, 3),
    )


def _macs(model: torch.nn.Module, image_size: int) -> int:
    """Multiply-accumulates of one image: PyTorch's FLOP counter (2 FLOPs a MAC)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 3, image_size, image_size))
    return counter.get_total_flops() // 2


def _timings(run, device: torch.device, repeats: int, warmup: int = 2) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(warmup):
        run()
    timings = []
    for _ in range(repeats):
        _sync(device)
        started = time.perf_counter()
        run()
        _sync(device)
        timings.append(time.perf_counter() - started)
    return timings


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
