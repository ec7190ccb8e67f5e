"""Batches of one split on the training device.

In-memory splits are indexed directly (one gather per batch, no per-image Python on the hot
path); splits on disk go through a DataLoader with workers and pinned memory. Augmentation runs
on the whole batch once it is on the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler, WeightedRandomSampler

from trainable.data import Split
from trainable.images import TensorImages

BatchTransform = Callable[[torch.Tensor], torch.Tensor]


class Batches:
    """(images NCHW, labels) batches of `split`, on `device`.

    `shuffle` draws a new order each epoch from `generator`; `sampler` draws the epoch's
    images instead (oversampling, undersampling). `transform` maps a whole uint8 batch on the
    device: training augmentation only.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        device: torch.device,
        *,
        shuffle: bool = False,
        sampler: Sampler[int] | None = None,
        transform: BatchTransform | None = None,
        generator: torch.Generator | None = None,
        num_workers: int = 0,
    ) -> None:
        self.split, self.batch_size, self.device = split, batch_size, device
        self.shuffle, self.transform, self.generator = shuffle, transform, generator
        self.sampler = sampler
        self.drawn = len(sampler) if sampler is not None else len(split)  # images per epoch
        # A lone last image would make BatchNorm fail in training mode; drop just that one.
        self.drop_last = shuffle and self.drawn % batch_size == 1 and self.drawn > 1
        self.in_memory = isinstance(split.images, TensorImages)
        if self.in_memory:
            self.images = split.images.tensor.to(device)  # type: ignore[attr-defined]
            self.labels = split.labels.to(device)
        else:
            self.loader = self._loader(num_workers)

    def __len__(self) -> int:
        full, rest = divmod(self.drawn, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for images, labels in self._raw():
            yield (images if self.transform is None else self.transform(images)), labels

    def _raw(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if not self.in_memory:
            for images, labels in self.loader:
                yield (
                    images.to(self.device, non_blocking=True),
                    labels.to(self.device, non_blocking=True),
                )
            return
        order = self._order()
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size].to(self.images.device)
            yield self.images[index], self.labels[index]

    def _order(self) -> torch.Tensor:
        if self.sampler is not None:
            return torch.tensor(list(self.sampler))
        if self.shuffle:
            return torch.randperm(len(self.split), generator=self.generator)
        return torch.arange(len(self.split))

    def _loader(self, num_workers: int) -> DataLoader:
        return DataLoader(
            _SplitDataset(self.split),
            batch_size=self.batch_size,
            shuffle=self.shuffle and self.sampler is None,
            sampler=self.sampler,
            drop_last=self.drop_last,
            num_workers=num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=num_workers > 0,
            generator=self.generator,
        )


def oversampler(weights: torch.Tensor, generator: torch.Generator | None) -> WeightedRandomSampler:
    """Draws len(weights) images a epoch with replacement, image i with weight weights[i]."""
    return WeightedRandomSampler(weights, len(weights), replacement=True, generator=generator)


class Undersampler(Sampler[int]):
    """Every epoch, as many images of each class as the rarest class has, drawn afresh.

    Without replacement within a class; the draw and its order come from `generator`, so a
    seed fixes every epoch's draw.
    """

    def __init__(self, labels: torch.Tensor, generator: torch.Generator | None = None) -> None:
        self.by_class = [
            (labels == c).nonzero().flatten() for c in labels.unique(sorted=True).tolist()
        ]
        self.per_class = min(len(members) for members in self.by_class)
        self.generator = generator

    def __len__(self) -> int:
        return self.per_class * len(self.by_class)

    def __iter__(self) -> Iterator[int]:
        drawn = [
            members[torch.randperm(len(members), generator=self.generator)[: self.per_class]]
            for members in self.by_class
        ]
        chosen = torch.cat(drawn)
        return iter(chosen[torch.randperm(len(chosen), generator=self.generator)].tolist())


class _SplitDataset(Dataset):
    def __init__(self, split: Split) -> None:
        self.split = split

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.split.images.load(index), self.split.labels[index]
