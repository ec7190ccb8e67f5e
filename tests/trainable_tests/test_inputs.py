"""What predict takes: one image or many, in the forms image code holds, and nothing guessed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from trainable import InputError
from trainable.inputs import as_batch

SIZE = 16


@pytest.fixture
def batch() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randint(0, 256, (4, 3, 30, 21), dtype=torch.uint8)


def test_an_image_alone_is_the_same_as_in_a_batch(batch: torch.Tensor) -> None:
    together = as_batch(batch, SIZE)
    assert together.shape == (4, 3, SIZE, SIZE) and together.dtype == torch.float32
    for i, image in enumerate(batch):
        assert torch.equal(as_batch(image, SIZE), together[i : i + 1])
    assert torch.equal(as_batch(list(batch), SIZE), together)


def test_every_form_of_one_image_gives_the_same_pixels(batch: torch.Tensor, tmp_path) -> None:
    image = batch[0]
    expected = as_batch(image, SIZE)
    hwc = image.permute(1, 2, 0).numpy()
    path = tmp_path / "one.png"
    Image.fromarray(hwc).save(path)
    forms = {
        "float CHW": image.float() / 255,
        "numpy HWC": hwc,
        "numpy NHWC": hwc[None],
        "numpy HWC float": hwc.astype(np.float32) / 255,
        "numpy RGBA": np.concatenate([hwc, np.full((*hwc.shape[:2], 1), 255, np.uint8)], 2),
        "PIL": Image.fromarray(hwc),
        "path": path,
        "path as str": str(path),
        "list of paths": [path],
    }
    for name, form in forms.items():  # a uint8 resize rounds to whole levels, a float one not
        tolerance = 1.01 / 255 if "float" in name else 1e-6
        assert (as_batch(form, SIZE) - expected).abs().max() < tolerance, name


def test_grey_images_are_three_channels(batch: torch.Tensor) -> None:
    grey = batch[0, :1]
    assert torch.equal(as_batch(grey, SIZE), as_batch(grey.expand(3, -1, -1), SIZE))
    assert torch.equal(as_batch(grey[0].numpy(), SIZE), as_batch(grey, SIZE))


@pytest.mark.parametrize(
    ("images", "says"),
    [
        (torch.zeros(30, 21, 3, dtype=torch.uint8), "tensor.permute(2, 0, 1)"),
        (np.zeros((3, 30, 21), np.uint8), "pass torch.from_numpy(array)"),
        (torch.zeros(5, 30, 21, dtype=torch.uint8), "shape (5, 30, 21) and dtype uint8"),
        (torch.zeros(3, 8, 8, dtype=torch.int64), "dtype int64: uint8, or float in [0, 1]"),
        (torch.full((3, 8, 8), 255.0), "values from 255 to 255; float images are taken in"),
        (np.zeros((8, 8, 3), np.uint16), "dtype uint16"),
        ([torch.zeros(2, 3, 8, 8, dtype=torch.uint8)], "in a list; each item is one image"),
        (42, "cannot read int as images"),
        ([42], "cannot read int as an image"),
    ],
)
def test_anything_else_is_one_error_naming_what_it_got(images, says: str) -> None:
    with pytest.raises(InputError, match=None) as raised:
        as_batch(images, SIZE)
    assert says in str(raised.value) and "\n" not in str(raised.value)
