"""The images a person holds, as the batch a model takes: what `predict` reads.

One image or many, in any of the forms image code passes around: a file path, a list of paths,
a PIL image, a numpy array as PIL and OpenCV give it (H x W x C, or N x H x W x C), a torch
tensor as torchvision gives it (C x H x W, or N x C x H x W), each uint8 or float in [0, 1].
Each image is resized on its shorter side and centre-cropped to the model's size, as the
training images were, so an image gives the same answer alone as in a batch. Anything else is
one `InputError` naming the shape and dtype it got; nothing is guessed (a 3-D tensor is never
read as H x W x C, a numpy array never as C x H x W).

numpy arrays are read as RGB: OpenCV's `imread` gives BGR, so convert it first
(`cv2.cvtColor(image, cv2.COLOR_BGR2RGB)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from trainable.errors import InputError
from trainable.images import read_image, to_square

TAKES = (
    "a path, a list of paths, a PIL image, a numpy H x W x C (or N x H x W x C) array, a "
    "torch C x H x W (or N x C x H x W) tensor, or a list of images; uint8, or float in [0, 1]"
)


def as_batch(images: Any, size: int) -> torch.Tensor:
    """`images` as one float (N, 3, size, size) tensor in [0, 1]."""
    if isinstance(images, torch.Tensor) and images.ndim == 4:
        return _scaled(to_square(_channels_first(images, "N x C x H x W"), size))
    if isinstance(images, np.ndarray) and images.ndim == 4:
        return as_batch(torch.from_numpy(_channels_last(images)).permute(0, 3, 1, 2), size)
    single = isinstance(images, (str, Path, Image.Image, torch.Tensor, np.ndarray))
    items = [images] if single else _listed(images)
    if not items:
        return torch.empty(0, 3, size, size)
    return torch.stack([_one(item, size) for item in items])


def _listed(images: Any) -> list[Any]:
    try:
        return list(images)
    except TypeError:
        raise InputError(f"cannot read {type(images).__name__} as images; give {TAKES}") from None


def _one(image: Any, size: int) -> torch.Tensor:
    """One image as a float (3, size, size) tensor in [0, 1]."""
    if isinstance(image, (str, Path)):
        return _scaled(read_image(Path(image), size))
    if isinstance(image, Image.Image):
        return _scaled(to_square(image, size))
    if isinstance(image, np.ndarray):
        if image.ndim == 2:  # grey
            image = image[:, :, None]
        if image.ndim != 3:
            raise InputError(f"{_described(image)} in a list; each item is one image: {TAKES}")
        return _one(torch.from_numpy(_channels_last(image)).permute(2, 0, 1), size)
    if isinstance(image, torch.Tensor):
        if image.ndim == 2:  # grey
            image = image[None]
        if image.ndim != 3:
            raise InputError(f"{_described(image)} in a list; each item is one image: {TAKES}")
        return _scaled(to_square(_channels_first(image, "C x H x W"), size))
    raise InputError(f"cannot read {type(image).__name__} as an image; give {TAKES}")


def _channels_last(array: np.ndarray) -> np.ndarray:
    """A numpy image (or batch) with 1, 3 or 4 channels last; RGBA loses its alpha, as PIL's
    RGB conversion drops it."""
    channels = array.shape[-1]
    if channels not in (1, 3, 4):
        hint = (
            "; numpy arrays are read as H x W x C (as PIL and OpenCV give them): for a "
            "C x H x W array, pass torch.from_numpy(array)"
            if array.shape[-3] in (1, 3)
            else ""
        )
        raise InputError(f"{_described(array)} has {channels} channels last{hint}; give {TAKES}")
    _check_dtype(array.dtype, _described(array), array)
    return np.ascontiguousarray(array[..., :3])


def _channels_first(tensor: torch.Tensor, layout: str) -> torch.Tensor:
    """A tensor image (or batch) with 1 or 3 channels first, 1 repeated to 3."""
    channels = tensor.shape[-3]
    if channels not in (1, 3):
        hint = (
            ": tensors are read as C x H x W, so permute an H x W x C one: tensor.permute(2, 0, 1)"
            if tensor.shape[-1] in (1, 3, 4)
            else ""
        )
        raise InputError(
            f"{_described(tensor)} is not {layout} with 1 or 3 channels{hint}; give {TAKES}"
        )
    _check_dtype(tensor.dtype, _described(tensor), tensor)
    if tensor.dtype != torch.uint8:
        tensor = tensor.float()  # resized in float32 (half precision is not on every device)
    return tensor.expand(*tensor.shape[:-3], 3, *tensor.shape[-2:]) if channels == 1 else tensor


FLOATS = (np.float16, np.float32, np.float64, torch.float16, torch.float32, torch.float64)


def _check_dtype(dtype: Any, described: str, values: Any) -> None:
    if dtype in (np.uint8, torch.uint8):
        return
    if dtype not in (*FLOATS, torch.bfloat16):
        raise InputError(f"{described}: uint8, or float in [0, 1], is taken; convert it first")
    if not (values.numel() if isinstance(values, torch.Tensor) else values.size):
        return
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        raise InputError(
            f"{described} has values from {low:g} to {high:g}; float images are taken in "
            "[0, 1]: divide 0-255 values by 255, or pass them as uint8"
        )


def _scaled(image: torch.Tensor) -> torch.Tensor:
    """uint8 to float in [0, 1] (the model's own first step), after the resize."""
    if image.dtype == torch.uint8:
        return image.float().div_(255)
    return image.float().clamp_(0.0, 1.0)  # antialiased resizing overshoots [0, 1] a little


def _described(image: Any) -> str:
    kind = "tensor" if isinstance(image, torch.Tensor) else "numpy array"
    dtype = str(image.dtype).removeprefix("torch.")
    return f"a {kind} of shape {tuple(image.shape)} and dtype {dtype}"
