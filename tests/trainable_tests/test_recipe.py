"""The recipe of a run: class balance, loss weights and schedules."""

from __future__ import annotations

import math

import pytest
import torch

from trainable import TrainConfig
from trainable.batches import Batches
from trainable.data import Split, Splits
from trainable.images import TensorImages
from trainable.recipe import class_weights, positive_weights, sampler_for, schedule_for


def _imbalanced_split() -> Split:
    labels = torch.tensor([0] * 80 + [1] * 10 + [2] * 10)
    return Split(TensorImages(torch.zeros(100, 3, 8, 8, dtype=torch.uint8)), labels)


def _drawn(cfg: TrainConfig, split: Split, epochs: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(cfg.seed)
    batches = Batches(
        split,
        50,
        torch.device("cpu"),
        shuffle=True,
        sampler=sampler_for(split, 3, cfg, generator),
        generator=generator,
    )
    return [torch.cat([y for _, y in batches]) for _ in range(epochs)]


def test_oversampling_balances_what_the_model_sees() -> None:
    drawn = torch.cat(_drawn(TrainConfig(balance="oversample"), _imbalanced_split(), 20))
    share = torch.bincount(drawn, minlength=3).float() / len(drawn)
    assert share.min() > 0.28 and share.max() < 0.38


def test_undersampling_draws_the_rarest_class_count_of_each_class_every_epoch() -> None:
    split = _imbalanced_split()
    cfg = TrainConfig(balance="undersample")
    epochs = _drawn(cfg, split, 4)
    for labels in epochs:
        assert torch.bincount(labels, minlength=3).tolist() == [10, 10, 10]
    # The 80 images of class 0 are drawn afresh each epoch: not the same 10 every time.
    generator = torch.Generator().manual_seed(0)
    sampler = sampler_for(split, 3, cfg, generator)
    majority = [frozenset(i for i in sampler if i < 80) for _ in range(4)]
    assert len(set(majority)) == 4 and all(len(m) == 10 for m in majority)
    # Seeded: the same seed draws the same epochs.
    assert all(torch.equal(a, b) for a, b in zip(epochs, _drawn(cfg, split, 4), strict=True))
    # An epoch is 30 images, so a schedule spanning it counts 30 images' steps.
    assert len(Batches(split, 8, torch.device("cpu"), sampler=sampler)) == 4


def test_class_weights_are_inverse_frequency() -> None:
    split = Split(
        TensorImages(torch.zeros(4, 3, 8, 8, dtype=torch.uint8)), torch.tensor([0, 0, 0, 1])
    )
    assert class_weights(split, 2).tolist() == pytest.approx([4 / 6, 2.0])


@pytest.mark.parametrize("schedule", ["one_cycle", "cosine", "constant"])
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 8])
def test_every_schedule_survives_very_short_runs(schedule: str, steps: int) -> None:
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = schedule_for(TrainConfig(schedule=schedule), optimizer, steps)
    for _ in range(steps):
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    assert all(math.isfinite(group["lr"]) for group in optimizer.param_groups)


def test_positive_weights_are_negatives_over_positives(tag_splits: Splits) -> None:
    labels = tag_splits.train.labels.float()
    expected = (len(labels) - labels.sum(0)) / labels.sum(0)
    assert torch.allclose(positive_weights(tag_splits.train), expected)
