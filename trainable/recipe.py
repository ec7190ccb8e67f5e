"""The recipe of one run: seeding, optimizer, learning-rate schedule, loss and class balance.

Each piece is built from the TrainConfig alone (and the training split, for class balance), so
`train()` and `measure_steps()` assemble runs that differ in nothing but what they time.
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
    # No weight decay on biases and normalisation weights (standard practice, as in timm).
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def schedule_for(cfg: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
    """The learning-rate scheduler, stepped once per batch; None for a constant rate."""
    if cfg.schedule == "constant" or total_steps < 2:
        return None
    if cfg.schedule == "one_cycle":
        # OneCycleLR needs its warm-up to end after step 0 (pct_start * steps > 1), which a
        # short run on a small dataset would not give at the usual 25%.
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=cfg.lr,
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
