"""Batches of a split on the device: in-memory splits shared, evaluation never augmented."""

from __future__ import annotations

import torch

from trainable import FakeData, prepare
from trainable.batches import Batches
from trainable.data import Splits


def test_evaluation_batches_never_augment(fake_splits: Splits) -> None:
    batches = Batches(fake_splits.test, 7, torch.device("cpu"))
    images = torch.cat([x for x, _ in batches])
    assert torch.equal(images, fake_splits.test.images.tensor)


def test_in_memory_data_is_shared_not_copied_per_batch() -> None:
    splits = prepare(FakeData(source="fake", samples=30, classes=3, image_size=8))
    batches = Batches(splits.train, 4, torch.device("cpu"))
    assert batches.images.data_ptr() == splits.train.images.tensor.data_ptr()
