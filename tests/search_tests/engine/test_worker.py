"""One worker set-up for trials, timed copies and the refit: threads, loader processes and a
GPU memory cap from the resources a process was given."""

from __future__ import annotations

import pytest
import torch

from search.engine.worker import HEADROOM, Worker, memory_share, set_up_worker, worker_for


@pytest.mark.parametrize(
    ("cpus", "gpus", "expected"),
    [
        (1, 0, Worker(threads=1, loader_workers=0, memory_share=None)),
        (0.5, 0, Worker(threads=1, loader_workers=0, memory_share=None)),
        (4, 1, Worker(threads=4, loader_workers=3, memory_share=None)),
        (2.5, 0.25, Worker(threads=2, loader_workers=1, memory_share=0.25 * (1 - HEADROOM))),
    ],
)
def test_a_worker_follows_its_resources(cpus, gpus, expected) -> None:
    assert worker_for(cpus, gpus) == expected


def test_only_part_of_a_gpu_caps_its_memory() -> None:
    assert memory_share(1) is None and memory_share(0) is None and memory_share(2) is None
    assert memory_share(0.25) == pytest.approx(0.25 * (1 - HEADROOM))


def test_set_up_sets_torch_threads() -> None:
    before = torch.get_num_threads()
    try:
        assert set_up_worker(1, 0).threads == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
