"""Training augmentation of a whole batch at once, on the device it trains on.

Each image gets its own random crop, flips, rotation and perspective warp, composed into one
3x3 projective matrix, and one `grid_sample` call resamples the whole batch; then its own
lighting. No Python loop over images, so the GPU sees a handful of kernels per batch. The
levels follow fastai's `get_transforms` (left-right flips, rotation up to 10 degrees, zoom,
perspective warp 0.2, lighting 0.2); upside-down flips only where the data says so. The
`trivial` level is TrivialAugment (torchvision's TrivialAugmentWide: one op of random strength
an image, a loop on the CPU drawing from torch's generator, seeded with the run), then light
crops.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class Level:
    scale: tuple[float, float]  # area of the crop, as a fraction of the image
    rotate: float  # degrees, either way
    warp: float  # how far each corner may move, as a fraction of the half side
    lighting: float  # brightness and contrast change, either way
    saturation: float


LEVELS = {
    "light": Level(scale=(0.7, 1.0), rotate=0.0, warp=0.0, lighting=0.1, saturation=0.0),
    "standard": Level(scale=(0.35, 1.0), rotate=10.0, warp=0.2, lighting=0.2, saturation=0.2),
    "strong": Level(scale=(0.2, 1.0), rotate=20.0, warp=0.3, lighting=0.3, saturation=0.3),
    # TrivialAugment's own op of the image first (torchvision's recipe), then light crops only
    "trivial": Level(scale=(0.7, 1.0), rotate=0.0, warp=0.0, lighting=0.0, saturation=0.0),
}
RATIO = (3 / 4, 4 / 3)  # aspect ratios of the crop, as RandomResizedCrop draws them


class Augment:
    """`augment(images)`: a uint8 (B, 3, S, S) batch -> float [0, 1] batch, augmented.

    Parameters are drawn on the CPU from `generator`, so a seed fixes them on any device.
    """

    def __init__(
        self,
        level: str,
        *,
        hflip: bool = True,
        flip_vertical: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if level not in LEVELS:
            raise ValueError(f"augment level must be one of {', '.join(LEVELS)}, got {level!r}")
        self.level, self.hflip, self.flip_vertical = LEVELS[level], hflip, flip_vertical
        self.generator = generator or torch.Generator().manual_seed(0)
        self.trivial = None
        if level == "trivial":
            from torchvision.transforms import v2

            self.trivial = v2.TrivialAugmentWide()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        batch = len(images)
        if self.trivial is not None:  # one op an image, on the CPU: its draws are torch's
            if images.dtype != torch.uint8:
                images = images.mul(255).round().clamp(0, 255).to(torch.uint8)
            operated = [self.trivial(image) for image in images.cpu()]
            images = torch.stack(operated).to(images.device)
        matrix = self.matrices(batch).to(images.device)
        size = images.shape[-2:]
        grid = _projective_grid(matrix, size)
        floats = images.float().div_(255) if images.dtype == torch.uint8 else images.float()
        out = F.grid_sample(
            floats, grid, mode="bilinear", padding_mode="reflection", align_corners=False
        )
        return self._lighting(out).clamp_(0, 1)

    def matrices(self, batch: int) -> torch.Tensor:
        """(batch, 3, 3): output pixel (x, y, 1) in [-1, 1] -> where it samples the input."""
        level = self.level
        crop = _crop(batch, level.scale, self._uniform)
        flip = torch.eye(3).repeat(batch, 1, 1)
        if self.hflip:
            flip[:, 0, 0] = torch.where(self._uniform(batch) < 0.5, -1.0, 1.0)
        if self.flip_vertical:
            flip[:, 1, 1] = torch.where(self._uniform(batch) < 0.5, -1.0, 1.0)
        angle = self._uniform(batch, -level.rotate, level.rotate) * math.pi / 180
        rotate = torch.eye(3).repeat(batch, 1, 1)
        rotate[:, 0, 0], rotate[:, 0, 1] = angle.cos(), -angle.sin()
        rotate[:, 1, 0], rotate[:, 1, 1] = angle.sin(), angle.cos()
        warp = _perspective(self._uniform((batch, 4, 2), -level.warp, level.warp))
        return crop @ flip @ rotate @ warp

    def _lighting(self, images: torch.Tensor) -> torch.Tensor:
        level, batch = self.level, len(images)
        if level.lighting:
            shape = (batch, 1, 1, 1)
            brightness = 1 + self._uniform(batch, -level.lighting, level.lighting)
            contrast = 1 + self._uniform(batch, -level.lighting, level.lighting)
            images = images * brightness.to(images.device).view(shape)
            mean = images.mean(dim=(1, 2, 3), keepdim=True)
            images = (images - mean) * contrast.to(images.device).view(shape) + mean
        if level.saturation:
            saturation = 1 + self._uniform(batch, -level.saturation, level.saturation)
            weights = torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
            gray = (images * weights).sum(1, keepdim=True)
            images = (images - gray) * saturation.to(images.device).view(batch, 1, 1, 1) + gray
        return images

    def _uniform(
        self, shape: int | tuple[int, ...], low: float = 0.0, high: float = 1.0
    ) -> torch.Tensor:
        shape = (shape,) if isinstance(shape, int) else shape
        return torch.rand(shape, generator=self.generator) * (high - low) + low


def _crop(
    batch: int, scale: tuple[float, float], uniform: Callable[..., torch.Tensor]
) -> torch.Tensor:
    """RandomResizedCrop's area and aspect ratio, as an affine map from output to input."""
    area = uniform(batch, *scale)
    log_ratio = uniform(batch, math.log(RATIO[0]), math.log(RATIO[1]))
    ratio = log_ratio.exp()
    width = (area * ratio).sqrt().clamp(max=1.0)
    height = (area / ratio).sqrt().clamp(max=1.0)
    centre_x = uniform(batch, -1.0, 1.0) * (1 - width)
    centre_y = uniform(batch, -1.0, 1.0) * (1 - height)
    matrix = torch.zeros(batch, 3, 3)
    matrix[:, 0, 0], matrix[:, 0, 2] = width, centre_x
    matrix[:, 1, 1], matrix[:, 1, 2] = height, centre_y
    matrix[:, 2, 2] = 1
    return matrix


CORNERS = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def _perspective(moves: torch.Tensor) -> torch.Tensor:
    """Homographies taking the square's corners to the corners moved by `moves` (B, 4, 2)."""
    batch = len(moves)
    if not moves.abs().max() > 0:
        return torch.eye(3).repeat(batch, 1, 1)
    target = CORNERS + moves
    x, y = CORNERS[:, 0].expand(batch, 4), CORNERS[:, 1].expand(batch, 4)
    u, v = target[..., 0], target[..., 1]
    zeros, ones = torch.zeros(batch, 4), torch.ones(batch, 4)
    # Two equations per corner in the 8 unknowns of H (h33 = 1).
    rows_u = torch.stack([x, y, ones, zeros, zeros, zeros, -u * x, -u * y], dim=-1)
    rows_v = torch.stack([zeros, zeros, zeros, x, y, ones, -v * x, -v * y], dim=-1)
    system = torch.cat([rows_u, rows_v], dim=1)
    solution = torch.linalg.solve(system, torch.cat([u, v], dim=1))
    return torch.cat([solution, torch.ones(batch, 1)], dim=1).view(batch, 3, 3)


def _projective_grid(matrix: torch.Tensor, size: torch.Size) -> torch.Tensor:
    """grid_sample's (B, H, W, 2) sampling grid for output pixels mapped through `matrix`."""
    height, width = size
    ys = (torch.arange(height, device=matrix.device) * 2 + 1) / height - 1
    xs = (torch.arange(width, device=matrix.device) * 2 + 1) / width - 1
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([grid_x, grid_y, torch.ones_like(grid_x)], dim=-1).view(-1, 3)
    mapped = points @ matrix.transpose(1, 2)  # (B, H*W, 3)
    mapped = mapped[..., :2] / mapped[..., 2:].clamp(min=1e-6)
    return mapped.view(len(matrix), height, width, 2)
