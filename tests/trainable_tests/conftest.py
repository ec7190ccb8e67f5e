from __future__ import annotations

import pytest

from trainable import FakeData, TrainConfig, prepare
from trainable.data import Splits


@pytest.fixture(scope="session")
def fake_splits() -> Splits:
    """60 random 16 px images of 3 classes: fast to train on, nothing to learn."""
    return prepare(FakeData(source="fake", samples=60, classes=3, image_size=16))


@pytest.fixture
def tiny_config() -> TrainConfig:
    """A fast run: random weights (no file read), two epochs, small batches."""
    return TrainConfig(weights="none", epochs=2, batch_size=16, lr=1e-3)
