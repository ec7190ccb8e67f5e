"""Image containers a split holds: decoded once into one uint8 tensor, or decoded on access.

Small datasets live in memory as a (N, 3, S, S) uint8 tensor: trials share it through Ray's
object store and index batches straight out of it. Large ones stay as files (or dataset indices)
and are decoded by DataLoader workers each epoch. Both give 3-channel uint8 images of side S.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms.v2 import functional as F

from trainable.errors import DataError


class Images(Protocol):
    """A sequence of 3 x size x size uint8 images."""

    size: int

    def __len__(self) -> int: ...
    def load(self, index: int) -> torch.Tensor: ...
    def subset(self, indices: Sequence[int]) -> Images: ...


def as_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB of any PNG, TIFF or JPEG mode. Pillow's own RGB conversion clips 16-bit and
    32-bit grey to 255 (an image of them all white), so those are scaled to 8 bits first; a
    palette with transparency goes by RGBA, as Pillow asks."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        wide = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or wide.max() <= 65535 else wide.max()
        image = Image.fromarray(np.clip(wide / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    elif image.mode == "F":  # floating-point grey: its own range
        wide = np.asarray(image, dtype=np.float64)
        low, high = float(wide.min()), float(wide.max())
        scaled = (wide - low) / (high - low or 1.0) * 255.0
        image = Image.fromarray(scaled.astype(np.uint8))
    elif image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    return image.convert("RGB")


def to_square(image: Image.Image | torch.Tensor, size: int) -> torch.Tensor:
    """Resize the shorter side to `size`, centre-crop a square, as 3-channel uint8 CHW."""
    if isinstance(image, Image.Image):
        image = F.pil_to_tensor(as_rgb(image))
    if image.shape[-3] == 1:
        image = image.expand(3, *image.shape[-2:]) if image.ndim == 3 else image.repeat(1, 3, 1, 1)
    image = F.resize(image, size, antialias=True)
    return F.center_crop(image, [size, size]).contiguous()


def read_image(path: Path, size: int) -> torch.Tensor:
    try:
        with Image.open(path) as image:
            return to_square(image, size)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}; delete or replace the file") from exc


class TensorImages:
    """Images decoded once and held as one (N, 3, S, S) uint8 tensor."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor
        self.size = int(tensor.shape[-1])

    def __len__(self) -> int:
        return len(self.tensor)

    def load(self, index: int) -> torch.Tensor:
        return self.tensor[index]

    def subset(self, indices: Sequence[int]) -> TensorImages:
        return TensorImages(self.tensor[torch.as_tensor(indices, dtype=torch.long)])


class FileImages:
    """Image files decoded on access; `materialize` decodes them all, in threads."""

    def __init__(self, paths: Sequence[Path], size: int) -> None:
        self.paths = list(paths)
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int) -> torch.Tensor:
        return read_image(self.paths[index], self.size)

    def subset(self, indices: Sequence[int]) -> FileImages:
        return FileImages([self.paths[i] for i in indices], self.size)


class DatasetImages:
    """Items of a map-style dataset whose first element is an image (torchvision datasets)."""

    def __init__(self, dataset: Any, indices: Sequence[int], size: int) -> None:
        self.dataset, self.indices, self.size = dataset, list(indices), size

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> torch.Tensor:
        return to_square(self.dataset[self.indices[index]][0], self.size)

    def subset(self, indices: Sequence[int]) -> DatasetImages:
        return DatasetImages(self.dataset, [self.indices[i] for i in indices], self.size)


class ConcatImages:
    """Several image sequences read as one (train + val for the refit)."""

    def __init__(self, parts: Sequence[Images]) -> None:
        self.parts = list(parts)
        self.size = parts[0].size
        self._where = [(p, i) for p, part in enumerate(parts) for i in range(len(part))]

    def __len__(self) -> int:
        return len(self._where)

    def load(self, index: int) -> torch.Tensor:
        part, i = self._where[index]
        return self.parts[part].load(i)

    def subset(self, indices: Sequence[int]) -> Images:
        return _Picked(self, indices)


class _Picked:
    def __init__(self, images: Images, indices: Sequence[int]) -> None:
        self.images, self.indices, self.size = images, list(indices), images.size

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> torch.Tensor:
        return self.images.load(self.indices[index])

    def subset(self, indices: Sequence[int]) -> Images:
        return _Picked(self, indices)


def concat(parts: Sequence[Images]) -> Images:
    if all(isinstance(p, TensorImages) for p in parts):
        return TensorImages(torch.cat([p.tensor for p in parts]))  # type: ignore[attr-defined]
    if all(isinstance(p, FileImages) for p in parts):
        return FileImages([path for p in parts for path in p.paths], parts[0].size)  # type: ignore[attr-defined]
    return ConcatImages(parts)


Failure = tuple[int, str]  # (index, why it cannot be read)


def materialize(images: Images, threads: int = 8) -> tuple[TensorImages, list[Failure]]:
    """Decode every image once into memory (PIL releases the GIL, so threads help).

    Images that cannot be decoded are left out and returned as failures, so one bad file
    costs a note, not the whole decode pass.
    """
    if isinstance(images, TensorImages):
        return images, []

    def load(index: int) -> torch.Tensor | str:
        try:
            return images.load(index)
        except DataError as exc:
            return str(exc.__cause__ or exc)

    with ThreadPoolExecutor(threads) as pool:
        loaded = list(pool.map(load, range(len(images))))
    failures = [(i, x) for i, x in enumerate(loaded) if isinstance(x, str)]
    good = [x for x in loaded if not isinstance(x, str)]
    if not good:
        return TensorImages(
            torch.empty(0, 3, images.size, images.size, dtype=torch.uint8)
        ), failures
    return TensorImages(torch.stack(good)), failures


def verify(images: Images) -> list[Failure]:
    """Header checks for files that stay on disk: catches non-images and empty files cheaply."""
    if not isinstance(images, FileImages):
        return []
    failures = []
    for index, path in enumerate(images.paths):
        try:
            with Image.open(path) as image:
                image.verify()
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
            failures.append((index, str(exc)))
    return failures


def describe(images: Images, index: int) -> str:
    """The file behind an image, for messages."""
    return str(images.paths[index]) if isinstance(images, FileImages) else f"image #{index}"
