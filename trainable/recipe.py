"""The recipe of one run: seeding, optimizer (with layer-wise rates), learning-rate schedule,
loss, class balance, and the levers beyond them: the linear probe before fine-tuning (LP-FT),
the pull toward the pretrained weights (L2-SP) and the weights' moving average (EMA).

Each piece is built from the TrainConfig alone (and the training split, for class balance and
the probe), so `train()` and `measure_steps()` assemble runs that differ in nothing but what
they time.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch import nn

from trainable.batches import Undersampler, oversampler
from trainable.config import TrainConfig
from trainable.data import Split, Splits


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def optimizer_for(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """AdamW or SGD; no weight decay on biases and normalisation weights (as in timm), and
    with layer_decay < 1 each block of the backbone its own, smaller rate (`initial_lr`)."""
    groups = []
    for scale, parameters in layer_scales(model, cfg.layer_decay):
        decay = [p for p in parameters if p.ndim > 1]
        no_decay = [p for p in parameters if p.ndim <= 1]
        for group, weight_decay in ((decay, cfg.weight_decay), (no_decay, 0.0)):
            if group:
                groups.append({"params": group, "weight_decay": weight_decay, "lr": cfg.lr * scale})
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def layer_scales(model: nn.Module, decay: float) -> list[tuple[float, list[nn.Parameter]]]:
    """(lr factor, parameters) from the stem to the head: the head 1, the backbone's stages
    `decay`, `decay`**2, ... downwards. One group of everything at decay 1, or for a model
    without a `body`."""
    body = getattr(model, "body", None)
    if decay == 1 or body is None:
        return [(1.0, list(model.parameters()))]
    blocks = [list(b.parameters()) for b in _blocks(body)]
    blocks = [b for b in blocks if b]
    in_blocks = {id(p) for b in blocks for p in b}
    rest = [p for p in model.parameters() if id(p) not in in_blocks]  # the head
    count = len(blocks)
    return [(decay ** (count - i), b) for i, b in enumerate(blocks)] + [(1.0, rest)]


def _blocks(body: nn.Module) -> list[nn.Module]:
    """The backbone's modules in order, a sequence of stages opened into its stages (timm's
    `blocks`; torchvision's `layer1` to `layer4` are children already)."""
    found: list[nn.Module] = []
    for child in body.children():
        stages = list(child.children())
        several = isinstance(child, (nn.Sequential, nn.ModuleList)) and len(stages) > 1
        found += stages if several else [child]
    return found


def schedule_for(cfg: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """The learning-rate scheduler, stepped once per batch; None for a constant rate."""
    if cfg.schedule == "constant" or total_steps < 2:
        return None
    if cfg.schedule == "one_cycle":
        # OneCycleLR needs its warm-up to end after step 0 (pct_start * steps > 1), which a
        # short run on a small dataset would not give at the usual 25%.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=total_steps,
            pct_start=max(0.25, 1.5 / total_steps),
        )
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


def class_weights(split: Split, num_classes: int) -> torch.Tensor:
    """Inverse class frequency, scaled so a balanced dataset gets weight 1 everywhere."""
    counts = split.class_counts(num_classes).float().clamp(min=1)
    return counts.sum() / (num_classes * counts)


def positive_weights(split: Split) -> torch.Tensor:
    """Per tag: images without it over images with it, as BCEWithLogitsLoss's pos_weight."""
    positives = split.labels.sum(0, dtype=torch.float32).clamp(min=1)
    return (len(split) - positives).clamp(min=1) / positives


def sampler_for(
    split: Split, num_classes: int, cfg: TrainConfig, generator: torch.Generator
) -> torch.utils.data.Sampler[int] | None:
    """What draws each epoch's images when `balance` draws by class; None: every image once."""
    if cfg.balance == "oversample":
        return oversampler(class_weights(split, num_classes)[split.labels].double(), generator)
    if cfg.balance == "undersample":
        return Undersampler(split.labels, generator)
    return None


class TagLoss(nn.Module):
    """Binary cross-entropy per (image, tag), with positive weights and label smoothing."""

    def __init__(self, pos_weight: torch.Tensor | None, smoothing: float) -> None:
        super().__init__()
        self.pos_weight, self.smoothing = pos_weight, smoothing

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = labels.float() * (1 - self.smoothing) + 0.5 * self.smoothing
        return nn.functional.binary_cross_entropy_with_logits(
            logits, targets, pos_weight=self.pos_weight
        )


def loss_for(cfg: TrainConfig, splits: Splits, device: torch.device) -> nn.Module:
    """The training loss: label smoothing and, with balance=weighted_loss, class (or tag)
    weights. Validation never uses it (see trainable.evaluation)."""
    weighted = cfg.balance == "weighted_loss"
    if splits.multilabel:
        weights = positive_weights(splits.train).to(device) if weighted else None
        return TagLoss(weights, cfg.label_smoothing)
    weights = class_weights(splits.train, splits.num_classes).to(device) if weighted else None
    return nn.CrossEntropyLoss(weight=weights, label_smoothing=cfg.label_smoothing)


class Anchor:
    """L2-SP: `strength` / 2 * ||w - w0||^2 over the backbone, w0 its weights before training
    (pretrained); zero there, and its gradient pulls each weight back toward w0."""

    def __init__(self, model: nn.Module, strength: float) -> None:
        self.strength = strength
        self.pairs = [(p, p.detach().clone()) for p in model.body.parameters()]

    def __call__(self) -> torch.Tensor:
        total = sum(((p - p0) ** 2).sum() for p, p0 in self.pairs if p.requires_grad)
        return 0.5 * self.strength * total


class Average:
    """The weights' exponential moving average, updated after every optimizer step, its
    half-life `half_life` epochs of `steps` steps; buffers (BatchNorm statistics) too."""

    def __init__(self, model: nn.Module, half_life: float, steps: int) -> None:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        self.decay = 0.5 ** (1 / max(half_life * steps, 1e-9))
        self.model = AveragedModel(
            model, multi_avg_fn=get_ema_multi_avg_fn(self.decay), use_buffers=True
        )

    def update(self, model: nn.Module) -> None:
        self.model.update_parameters(model)

    @property
    def module(self) -> nn.Module:
        return self.model.module


def fit_probe(
    model: nn.Module, batches: Any, loss_fn: nn.Module, steps: int = 100
) -> dict[str, float]:
    """LP: the head's linear layer fitted to the backbone's frozen features of the training
    split (as evaluated: no augmentation, BatchNorm's pretrained statistics), full batch with
    L-BFGS, before anything else trains. The loss of the head before and after."""
    model.eval()
    features, labels = [], []
    with torch.no_grad():
        for images, targets in batches:
            features.append(model.features(images).float())
            labels.append(targets)
    inputs, targets = torch.cat(features), torch.cat(labels)
    linear = model.head[-1]
    before = loss_fn(linear(inputs), targets).item()
    optimizer = torch.optim.LBFGS(
        linear.parameters(), lr=1, max_iter=steps, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(linear(inputs), targets) + 1e-4 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        after = loss_fn(linear(inputs), targets).item()
    return {"probe_loss_before": before, "probe_loss": after}
