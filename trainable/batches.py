"""Batches of one split on the training device.

In-memory splits are indexed directly (one gather per batch, no per-image Python on the hot path
unless augmenting); splits on disk go through a DataLoader with workers and pinned memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from trainable.data import Split
from trainable.images import TensorImages

Transform = Callable[[torch.Tensor], torch.Tensor]


class Batches:
    """(images uint8 NCHW, labels) batches of `split`, on `device`.

    `shuffle` draws a new order each epoch from `generator`; `sample_weights` draws with
    replacement (WeightedRandomSampler) to oversample rare classes. `transform` is applied per
    image: training augmentation only.
    """

    def __init__(
        self,
        split: Split,
        batch_size: int,
        device: torch.device,
        *,
        shuffle: bool = False,
        sample_weights: torch.Tensor | None = None,
        transform: Transform | None = None,
        generator: torch.Generator | None = None,
        num_workers: int = 0,
    ) -> None:
        self.split, self.batch_size, self.device = split, batch_size, device
        self.shuffle, self.transform, self.generator = shuffle, transform, generator
        self.sampler = (
            WeightedRandomSampler(sample_weights, len(split), replacement=True, generator=generator)
            if sample_weights is not None
            else None
        )
        # A lone last image would make BatchNorm fail in training mode; drop just that one.
        self.drop_last = shuffle and len(split) % batch_size == 1 and len(split) > 1
        self.in_memory = isinstance(split.images, TensorImages)
        if self.in_memory:
            self.images = split.images.tensor.to(device)  # type: ignore[attr-defined]
            self.labels = split.labels.to(device)
        else:
            self.loader = self._loader(num_workers)

    def __len__(self) -> int:
        full, rest = divmod(len(self.split), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
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
            images = self.images[index]
            if self.transform is not None:
                images = torch.stack([self.transform(image) for image in images])
            yield images, self.labels[index]

    def _order(self) -> torch.Tensor:
        if self.sampler is not None:
            return torch.tensor(list(self.sampler))
        if self.shuffle:
            return torch.randperm(len(self.split), generator=self.generator)
        return torch.arange(len(self.split))

    def _loader(self, num_workers: int) -> DataLoader:
        return DataLoader(
            _SplitDataset(self.split, self.transform),
            batch_size=self.batch_size,
            shuffle=self.shuffle and self.sampler is None,
            sampler=self.sampler,
            drop_last=self.drop_last,
            num_workers=num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=num_workers > 0,
            generator=self.generator,
        )


class _SplitDataset(Dataset):
    def __init__(self, split: Split, transform: Transform | None) -> None:
        self.split, self.transform = split, transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.split.images.load(index)
        if self.transform is not None:
            image = self.transform(image)
        return image, self.split.labels[index]
