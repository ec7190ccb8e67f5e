from __future__ import annotations

import pytest
import torch

from trainable import FakeData, TrainConfig, prepare
from trainable.data import Split, Splits
from trainable.images import TensorImages


@pytest.fixture(scope="session")
def fake_splits() -> Splits:
    """60 random 16 px images of 3 classes: fast to train on, nothing to learn."""
    return prepare(FakeData(source="fake", samples=60, classes=3, image_size=16))


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A fast run: random weights (no file read), two epochs, small batches."""
    return TrainConfig(weights="none", epochs=2, batch_size=16, lr=1e-3)


@pytest.fixture(scope="session")
def tag_splits() -> Splits:
    """90 random 16 px images with 3 tags each present or not (never none)."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (90, 3, 16, 16), dtype=torch.uint8, generator=generator)
    labels = (torch.rand(90, 3, generator=generator) < 0.4).to(torch.uint8)
    labels[labels.sum(1) == 0, 0] = 1
    parts = [slice(0, 60), slice(60, 75), slice(75, 90)]
    split = [Split(TensorImages(images[p]), labels[p]) for p in parts]
    return Splits(*split, classes=("a", "b", "c"))
