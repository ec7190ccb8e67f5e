"""`measure_steps`: timing a configuration's optimizer steps, as packing needs them."""

from __future__ import annotations

import itertools

import torch

from trainable import TrainConfig
from trainable.data import Splits
from trainable.probe import measure_steps


def test_steps_are_timed_after_the_warm_up(fake_splits: Splits) -> None:
    cfg = TrainConfig(weights="none", batch_size=8)
    probe = measure_steps(cfg, fake_splits, seconds=0.3, warmup_steps=2, steps_per_mark=3)
    times = [t for t, _ in probe.marks]
    images = [n for _, n in probe.marks]
    assert times == sorted(times) and times[-1] - times[0] >= 0.3
    # 3 steps a mark, of 8 images each but the last of an epoch (42 training images).
    assert images[0] == 0
    assert all(3 < b - a <= 3 * 8 for a, b in itertools.pairwise(images))
    assert probe.images_per_second == images[-1] / (times[-1] - times[0])
    assert probe.device == "cpu" and probe.peak_bytes == 0  # no GPU memory to measure


def test_timing_waits_until_start_when_says_so(fake_splits: Splits) -> None:
    """Copies measured at once start timing together; until then they train on."""
    asked: list[int] = []
    trained: list[int] = []
    original = torch.optim.AdamW.step

    def counting_step(self, *args, **kwargs):
        trained.append(1)
        return original(self, *args, **kwargs)

    def ready() -> bool:
        asked.append(len(trained))
        return len(asked) == 3

    torch.optim.AdamW.step = counting_step
    try:
        cfg = TrainConfig(weights="none", batch_size=8)
        probe = measure_steps(
            cfg, fake_splits, seconds=0.1, warmup_steps=2, steps_per_mark=4, start_when=ready
        )
    finally:
        torch.optim.AdamW.step = original
    assert asked == [2, 6, 10]  # after the warm-up, then after each 4 steps trained meanwhile
    assert len(trained) == 10 + 4 * (len(probe.marks) - 1)
