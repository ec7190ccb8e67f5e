"""Scoring a model: the forward pass as training runs it, the per-epoch validation record, and
`evaluate()` for a split scored once (the refit's test).

Validation loss is plain cross-entropy (binary cross-entropy for multi-label data), without
label smoothing or class weights, so trials that search those knobs stay comparable.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

from trainable.batches import Batches
from trainable.config import TrainConfig
from trainable.data import Split
from trainable.errors import DivergedError
from trainable.metrics import (
    Evaluation,
    MultiLabelEvaluation,
    best_threshold,
    classification_metrics,
    multilabel_metrics,
    per_tag_scores,
    threshold_scores,
)


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def on_device(device: torch.device, model: nn.Module) -> nn.Module:
    """`model` on `device`, channels_last on CUDA (where bf16 convolutions are fastest so)."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model


def forward(
    model: nn.Module, images: torch.Tensor, device: torch.device, precision: str = "auto"
) -> torch.Tensor:
    """The model's logits for a batch already on `device`, as training computes them: bf16
    autocast for precision bf16 (or auto on CUDA), channels_last on CUDA."""
    if device.type == "cuda":
        images = images.contiguous(memory_format=torch.channels_last)
    with _autocast(device, precision):
        return model(images)


def _autocast(device: torch.device, precision: str) -> AbstractContextManager[Any]:
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def check_finite(loss: torch.Tensor | float, epoch: int, step: int) -> float:
    """The loss as a number; raises DivergedError where it is NaN or infinite. (A tensor is
    synced to the host here, so training calls it every few steps only.)"""
    value = loss.item() if isinstance(loss, torch.Tensor) else loss
    if not math.isfinite(value):
        raise DivergedError(epoch, step, value)
    return value


def validate(
    model: nn.Module, batches: Batches, cfg: TrainConfig, epoch: int, tags: tuple[str, ...]
) -> dict[str, float]:
    """The validation part of an epoch's record: val_loss and val_accuracy, or for
    multi-label data its F-beta, thresholded accuracy and per-tag scores."""
    if batches.split.multilabel:
        return _validate_tags(model, batches, cfg, epoch, tags)
    predicted, truth, loss = _class_outputs(model, batches, cfg.precision)
    count = max(len(truth), 1)
    val_loss = check_finite(loss / count, epoch, len(batches))
    return {"val_loss": val_loss, "val_accuracy": (predicted == truth).sum().item() / count}


def _validate_tags(
    model: nn.Module, batches: Batches, cfg: TrainConfig, epoch: int, tags: tuple[str, ...]
) -> dict[str, float]:
    """Loss, F-beta and thresholded accuracy at cfg.threshold, the threshold the F-beta would
    be best at, and each tag's precision and recall."""
    probabilities, truth, loss = _tag_probabilities(model, batches, cfg.precision)
    val_loss = check_finite(loss, epoch, len(batches))
    at = threshold_scores(probabilities, truth, cfg.threshold, cfg.beta)
    tuned, tuned_fbeta = best_threshold(probabilities, truth, cfg.beta)
    record = {
        "val_loss": val_loss,
        "val_fbeta": at["fbeta"],
        "val_accuracy_thresh": at["accuracy_thresh"],
        "val_best_threshold": tuned,
        "val_fbeta_at_best_threshold": tuned_fbeta,
    }
    scores = per_tag_scores(probabilities, truth, cfg.threshold, cfg.beta, list(tags))
    for tag, score in scores.items():
        record[f"val_precision/{tag}"] = score["precision"]
        record[f"val_recall/{tag}"] = score["recall"]
    return record


def evaluate(
    model: nn.Module,
    split: Split,
    classes: list[str] | tuple[str, ...],
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    threshold: float = 0.2,
    beta: float = 2.0,
    extra_thresholds: tuple[float, ...] = (),
    precision: str = "auto",
) -> Evaluation | MultiLabelEvaluation:
    """Loss, accuracy, macro F1, per-class precision/recall and the confusion matrix.

    For multi-label data: loss, F-beta and thresholded accuracy at `threshold` (and across a
    grid of thresholds, with `extra_thresholds`), and per-tag precision and recall.
    `precision` as in TrainConfig: auto is bf16 autocast (and channels_last) on CUDA.
    """
    device = resolve_device(device)
    on_device(device, model)
    batches = Batches(split, batch_size, device)
    if split.multilabel:
        probabilities, truth, loss = _tag_probabilities(model, batches, precision)
        return multilabel_metrics(
            probabilities.cpu(), truth.cpu(), list(classes), loss, threshold, beta, extra_thresholds
        )
    predicted, truth, loss = _class_outputs(model, batches, precision)
    return classification_metrics(
        predicted.cpu().numpy(), truth.cpu().numpy(), list(classes), loss / max(len(truth), 1)
    )


def _class_outputs(
    model: nn.Module, batches: Batches, precision: str
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(predicted classes, true classes, summed cross-entropy) over a single-label split; the
    predictions stay on the device, and the loss is the one value synced to the host."""
    model.eval()
    device = batches.device
    predictions, targets = [], []
    loss_sum = torch.zeros((), device=device)
    with torch.inference_mode():
        for images, labels in batches:
            logits = forward(model, images, device, precision).float()
            loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum")
            predictions.append(logits.argmax(1))
            targets.append(labels)
    if not predictions:
        empty = torch.empty(0, dtype=torch.long, device=device)
        return empty, empty, 0.0
    return torch.cat(predictions), torch.cat(targets), loss_sum.item()


def _tag_probabilities(
    model: nn.Module, batches: Batches, precision: str
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(sigmoid outputs, 0/1 truth, mean binary cross-entropy) of a multi-label split."""
    model.eval()
    device = batches.device
    outputs, truths = [], []
    loss_sum = torch.zeros((), device=device)
    with torch.inference_mode():
        for images, labels in batches:
            logits = forward(model, images, device, precision).float()
            loss_sum += nn.functional.binary_cross_entropy_with_logits(
                logits, labels.float(), reduction="sum"
            )
            outputs.append(logits.sigmoid())
            truths.append(labels)
    tags = batches.split.labels.shape[1]
    if not outputs:
        return torch.empty(0, tags), torch.empty(0, tags, dtype=torch.uint8), 0.0
    elements = max(len(batches.split) * tags, 1)
    return torch.cat(outputs), torch.cat(truths), loss_sum.item() / elements
