"""One set-up for every process that trains for a search: a trial, each copy that
`gpus_per_trial: auto` times, and the refit.

A process with `cpus` CPUs computes on that many threads and, for image files on disk, loads
batches with `cpus - 1` loader processes (the last CPU trains); in-memory data needs none. A
process with a fraction of a GPU caps PyTorch's caching allocator at its share of the GPU's
memory less `HEADROOM`, so one that outgrows its share fails alone with out-of-memory and never
takes its neighbours on the GPU with it.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADROOM = 0.10  # of each GPU's memory, never packed


@dataclass(frozen=True)
class Worker:
    threads: int  # torch's compute threads
    loader_workers: int  # DataLoader processes for files on disk
    memory_share: float | None  # of the GPU's memory, where the process has part of a GPU


def memory_share(gpus: float) -> float | None:
    """The fraction of a GPU's memory a process with `gpus` of one may allocate: its share
    less the headroom; None for a whole GPU (or more, or none)."""
    if not 0 < gpus < 1:
        return None
    return gpus * (1 - HEADROOM)


def worker_for(cpus: float, gpus: float) -> Worker:
    threads = max(1, int(cpus))
    return Worker(threads=threads, loader_workers=threads - 1, memory_share=memory_share(gpus))


def set_up_worker(cpus: float, gpus: float) -> Worker:
    """Set this process up for `cpus` CPUs and `gpus` of a GPU; what it was set to."""
    import torch

    worker = worker_for(cpus, gpus)
    torch.set_num_threads(worker.threads)
    if worker.memory_share is not None and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(worker.memory_share)
    return worker
