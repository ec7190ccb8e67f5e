"""Fixtures shared by all tests: tiny datasets made on the spot, never downloaded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


def write_images(folder: Path, count: int, color: tuple[int, int, int], size: int = 12) -> None:
    """`count` PNGs of one base colour plus noise, so a class is learnable."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(abs(hash((str(folder), color))) % 2**32)
    for i in range(count):
        noise = rng.integers(-30, 30, size=(size, size, 3))
        pixels = np.clip(np.array(color)[None, None] + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")


@pytest.fixture
def image_tree(tmp_path: Path) -> Callable[..., Path]:
    """Build root/<class>/*.png (or root/<split>/<class>/*.png) with `count` images a class."""

    def build(classes: dict[str, int] | None = None, splits: tuple[str, ...] = ()) -> Path:
        classes = classes or {"red": 6, "green": 6, "blue": 6}
        colors = [(220, 30, 30), (30, 220, 30), (30, 30, 220), (220, 220, 30)]
        root = tmp_path / "images"
        for split in splits or ("",):
            for (name, count), color in zip(classes.items(), colors, strict=False):
                write_images(root / split / name, count, color)
        return root

    return build
