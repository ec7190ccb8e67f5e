"""model.onnx: raw uint8 images of any size in, the PyTorch model's probabilities out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from trainable import build_model
from trainable.data import Splits
from trainable.export import OnnxModel, export_onnx, onnx_agreement
from trainable.images import to_square


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("efficientnet_lite0", "none", num_classes=3, dropout=0.0).eval()


@pytest.mark.parametrize("shape", [(2, 3, 24, 24), (1, 3, 40, 57), (3, 3, 90, 31), (1, 3, 13, 19)])
def test_the_graph_resizes_and_crops_as_trainable_does(model, tmp_path: Path, shape) -> None:
    """Larger, smaller, wide and tall images: the ONNX graph's own preprocessing gives what
    trainable's to_square and the model give. (ONNX's Resize rounds the longer side where
    torchvision truncates it: a crop at most a pixel apart, hence not exactly equal.)"""
    path = export_onnx(model, 24, tmp_path / "model.onnx")
    images = torch.randint(
        0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )
    onnx = OnnxModel(path).probabilities(images)
    with torch.inference_mode():
        expected = model(torch.stack([to_square(i, 24) for i in images])).softmax(1).numpy()
    assert onnx.shape == (shape[0], 3)
    assert np.allclose(onnx.sum(1), 1, atol=1e-5)
    assert np.abs(onnx - expected).max() < 0.01


def test_multilabel_models_give_a_probability_per_tag(model, tmp_path: Path) -> None:
    path = export_onnx(model, 24, tmp_path / "tags.onnx", multilabel=True)
    images = torch.randint(0, 256, (4, 3, 24, 24), dtype=torch.uint8)
    with torch.inference_mode():
        expected = model(images).sigmoid().numpy()
    assert np.abs(OnnxModel(path).probabilities(images) - expected).max() < 1e-5


def test_agreement_on_a_split(model, tmp_path: Path, fake_splits: Splits) -> None:
    trained_size = fake_splits.image_size
    refit = build_model("efficientnet_lite0", "none", num_classes=3, dropout=0.0).eval()
    path = export_onnx(refit, trained_size, tmp_path / "model.onnx")
    check = onnx_agreement(path, refit, fake_splits.test)
    assert check["images"] == len(fake_splits.test) and check["top1_agreement"] == 1.0
    assert check["accuracy"] == check["torch_accuracy"]
    assert check["max_probability_difference"] < 1e-4
