"""Batched augmentation: one random transform per image, seeded, flips only where allowed."""

from __future__ import annotations

import pytest
import torch

from trainable.augment import Augment


def _batch(n: int = 16, size: int = 24) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=generator)


def test_same_seed_same_batch_and_each_image_its_own_transform() -> None:
    image = _batch(1).expand(8, -1, -1, -1)
    first = Augment("standard", generator=torch.Generator().manual_seed(3))(image)
    second = Augment("standard", generator=torch.Generator().manual_seed(3))(image)
    assert torch.equal(first, second)
    assert first.shape == image.shape and first.dtype == torch.float32
    assert first.min() >= 0 and first.max() <= 1
    # Eight copies of one image come out as eight different images.
    assert len({tuple(x.flatten()[:50].tolist()) for x in first}) == 8


@pytest.mark.parametrize("level", ["light", "standard", "strong"])
def test_upside_down_only_when_the_data_allows_it(level: str) -> None:
    """The matrix maps the output's up (y = -1) to the input's: its y column stays positive
    unless flip_vertical is on (rotations of up to 20 degrees keep it so)."""

    def ups(flip_vertical: bool) -> torch.Tensor:
        augment = Augment(level, flip_vertical=flip_vertical, generator=torch.Generator())
        matrices = augment.matrices(400)
        return matrices[:, 1, 1]

    assert (ups(False) > 0).all()
    flipped = (ups(True) < 0).float().mean()
    assert 0.35 < flipped < 0.65


def test_left_right_flips_follow_hflip() -> None:
    def lefts(hflip: bool) -> torch.Tensor:
        augment = Augment("light", hflip=hflip, generator=torch.Generator())
        return augment.matrices(400)[:, 0, 0]

    assert (lefts(False) > 0).all() and 0.35 < (lefts(True) < 0).float().mean() < 0.65


def test_stronger_levels_move_images_further() -> None:
    images = _batch(64)
    original = images.float() / 255
    change = {
        level: (Augment(level, generator=torch.Generator().manual_seed(0))(images) - original)
        .abs()
        .mean()
        .item()
        for level in ("light", "standard", "strong")
    }
    assert change["light"] < change["standard"] < change["strong"]


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="one of light, standard, strong, trivial, got 'wild'"):
        Augment("wild")
