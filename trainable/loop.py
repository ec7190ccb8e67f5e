"""`train()`: fine-tune one configuration, epoch by epoch; `evaluate()`: score a model once.

Each epoch trains, then validates, then calls `report(epoch, metrics)`: the one hook a search
needs (it may raise to stop the run). Validation loss is plain cross-entropy (binary
cross-entropy for multi-label data), without label smoothing or class weights, so trials that
search those knobs stay comparable.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from trainable.augment import Augment
from trainable.batches import Batches, Undersampler, oversampler
from trainable.config import TrainConfig
from trainable.data import Split, Splits
from trainable.errors import DataError, DivergedError
from trainable.metrics import (
    Evaluation,
    MultiLabelEvaluation,
    best_threshold,
    classification_metrics,
    multilabel_metrics,
    per_tag_scores,
    threshold_scores,
)
from trainable.models import Classifier, build_model, set_backbone_trainable

Report = Callable[[int, dict[str, float]], None]
CHECK_EVERY = 25  # steps between divergence checks (each one syncs a GPU)


@dataclass
class History:
    """Per-epoch records of one run and the model it left (as Keras's History has `.model`)."""

    records: list[dict[str, float]] = field(default_factory=list)
    model: Classifier | None = None
    stopped_early: bool = False

    @property
    def epochs_run(self) -> int:
        return len(self.records)

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras-style: metric name -> one value per epoch."""
        keys = self.records[0].keys() if self.records else ()
        return {k: [r[k] for r in self.records] for k in keys}


def train(
    cfg: TrainConfig,
    splits: Splits,
    report: Report | None = None,
    *,
    device: str | torch.device | None = None,
    num_workers: int = 0,
) -> History:
    """Fine-tune `cfg` on `splits.train`, validating on `splits.val` after every epoch.

    The learning-rate schedule spans `cfg.horizon` epochs, which may be more than `cfg.epochs`
    (a run stopped part way along a longer schedule). Raises `DivergedError` on a non-finite
    loss.
    """
    started = time.perf_counter()
    fit = _Fit.set_up(cfg, splits, resolve_device(device), num_workers)
    history = History(model=fit.model)
    best, waited = math.inf, 0
    for epoch in range(1, cfg.epochs + 1):
        record = {"epoch": epoch, **fit.epoch(epoch)}
        record["elapsed_seconds"] = time.perf_counter() - started
        history.records.append(record)
        if report is not None:
            report(epoch, dict(record))
        if fit.val is not None and cfg.early_stopping_patience is not None:
            best, waited = (
                (record["val_loss"], 0) if record["val_loss"] < best else (best, waited + 1)
            )
            if waited >= cfg.early_stopping_patience:
                history.stopped_early = True
                break
    fit.model.eval()
    return history


@dataclass
class _Fit:
    """Everything one run trains with, built once before the first epoch."""

    cfg: TrainConfig
    model: Classifier
    batches: Batches
    val: Batches | None
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    tags: tuple[str, ...]  # the class (tag) names, for per-tag scores

    @classmethod
    def set_up(
        cls, cfg: TrainConfig, splits: Splits, device: torch.device, num_workers: int
    ) -> _Fit:
        if splits.multilabel and cfg.balance in ("oversample", "undersample"):
            raise DataError(
                f"balance={cfg.balance} draws images by class, and these images carry several "
                "tags each; balance multi-label data with balance=weighted_loss"
            )
        _seed_everything(cfg.seed)
        model = _on(device, build_model(cfg.backbone, cfg.weights, splits.num_classes, cfg.dropout))
        generator = torch.Generator().manual_seed(cfg.seed)
        augment = None
        if cfg.augment != "none":
            augment = Augment(
                cfg.augment,
                hflip=splits.hflip,
                flip_vertical=splits.flip_vertical,
                generator=torch.Generator().manual_seed(cfg.seed + 1),
            )
        batches = Batches(
            splits.train,
            cfg.batch_size,
            device,
            shuffle=True,
            generator=generator,
            sampler=_sampler(splits.train, splits.num_classes, cfg, generator),
            transform=augment,
            num_workers=num_workers,
        )
        val = None
        if splits.val:
            val = Batches(splits.val, 2 * cfg.batch_size, device, num_workers=num_workers)
        loss_fn = _loss(cfg, splits, device)
        optimizer = _optimizer(cfg, model)
        scheduler = _scheduler(cfg, optimizer, cfg.horizon * len(batches))
        return cls(cfg, model, batches, val, loss_fn, optimizer, scheduler, splits.classes)

    def epoch(self, epoch: int) -> dict[str, float]:
        """Train one epoch, then validate: the epoch's record, less its number and clock."""
        cfg = self.cfg
        frozen = cfg.freeze == "backbone" or (cfg.freeze == "warmup" and epoch == 1)
        set_backbone_trainable(self.model, not frozen)
        record = _train_epoch(
            self.model,
            self.batches,
            self.loss_fn,
            self.optimizer,
            self.scheduler,
            cfg,
            epoch,
            frozen,
        )
        if self.val is not None and self.val.split.multilabel:
            record.update(_validate_tags(self.model, self.val, cfg, epoch, self.tags))
        elif self.val is not None:
            record.update(_validate(self.model, self.val, cfg, epoch))
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
    _on(device, model).eval()
    batches = Batches(split, batch_size, device)
    if split.multilabel:
        probabilities, truth, loss = _tag_probabilities(model, batches, precision)
        return multilabel_metrics(
            probabilities.cpu(),
            truth.cpu(),
            list(classes),
            loss,
            threshold,
            beta,
            extra_thresholds,
        )
    predictions, targets, loss_sum = [], [], 0.0
    with torch.inference_mode():
        for images, labels in batches:
            logits = forward(model, images, device, precision).float()
            loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            predictions.append(logits.argmax(1).cpu())
            targets.append(labels.cpu())
    predicted = torch.cat(predictions).numpy() if predictions else np.empty(0, dtype=np.int64)
    truth = torch.cat(targets).numpy() if targets else np.empty(0, dtype=np.int64)
    return classification_metrics(predicted, truth, list(classes), loss_sum / max(len(truth), 1))


def _on(device: torch.device, model: nn.Module) -> nn.Module:
    """`model` on `device`, channels_last on CUDA (where bf16 convolutions are fastest so)."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if device.type == "cuda" else model


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _train_epoch(
    model: Classifier,
    batches: Batches,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    cfg: TrainConfig,
    epoch: int,
    frozen: bool,
) -> dict[str, float]:
    model.train()
    if frozen:  # keep the pretrained BatchNorm statistics while only the head learns
        model.body.eval()
    device = next(model.parameters()).device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    seen, waited, start = 0, 0.0, time.perf_counter()
    multilabel = batches.split.multilabel
    step, batch_iter = 0, iter(batches)
    while True:
        asked = time.perf_counter()
        batch = next(batch_iter, None)  # the host's wait for data (loading, augmentation)
        waited += time.perf_counter() - asked
        if batch is None:
            break
        images, labels = batch
        step += 1
        logits, loss = _step(model, images, labels, loss_fn, optimizer, scheduler, cfg.precision)
        loss_sum += loss.detach() * len(labels)
        if multilabel:  # right (image, tag) pairs, counted per image
            predicted = logits.detach().float().sigmoid() > cfg.threshold
            correct += (predicted == labels.bool()).sum() / labels.shape[1]
        else:
            correct += (logits.argmax(1) == labels).sum()
        seen += len(labels)
        if step % CHECK_EVERY == 0 or step == len(batches):
            _check_finite(loss_sum, epoch, step)
    seconds = time.perf_counter() - start
    accuracy = "train_accuracy_thresh" if multilabel else "train_accuracy"
    record = {
        "train_loss": loss_sum.item() / max(seen, 1),
        accuracy: correct.item() / max(seen, 1),
        "lr": optimizer.param_groups[0]["lr"],
        "seconds": seconds,
        "images_per_second": seen / seconds if seconds > 0 else 0.0,
        "data_wait_fraction": waited / seconds if seconds > 0 else 0.0,
    }
    if device.type == "cuda":
        record["peak_memory_mib"] = torch.cuda.max_memory_reserved(device) / 2**20
    return record


def _step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    precision: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on one batch: (logits, loss), neither synced to the host."""
    logits = forward(model, images, images.device, precision)
    loss = loss_fn(logits.float(), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return logits, loss


def _validate(
    model: Classifier, batches: Batches, cfg: TrainConfig, epoch: int
) -> dict[str, float]:
    model.eval()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    with torch.inference_mode():
        for images, labels in batches:
            logits = forward(model, images, device, cfg.precision).float()
            loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum")
            correct += (logits.argmax(1) == labels).sum()
    count = max(len(batches.split), 1)
    val_loss = loss_sum.item() / count
    if not math.isfinite(val_loss):
        raise DivergedError(epoch, len(batches), val_loss)
    return {"val_loss": val_loss, "val_accuracy": correct.item() / count}


def _validate_tags(
    model: Classifier, batches: Batches, cfg: TrainConfig, epoch: int, tags: tuple[str, ...]
) -> dict[str, float]:
    """Multi-label validation: loss, F-beta and thresholded accuracy at cfg.threshold, the
    threshold the F-beta would be best at, and each tag's precision and recall."""
    probabilities, truth, val_loss = _tag_probabilities(model, batches, cfg.precision)
    if not math.isfinite(val_loss):
        raise DivergedError(epoch, len(batches), val_loss)
    at = threshold_scores(probabilities, truth, cfg.threshold, cfg.beta)
    tuned, tuned_fbeta = best_threshold(probabilities, truth, cfg.beta)
    record = {
        "val_loss": val_loss,
        "val_fbeta": at["fbeta"],
        "val_accuracy_thresh": at["accuracy_thresh"],
        "val_best_threshold": tuned,
        "val_fbeta_at_best_threshold": tuned_fbeta,
    }
    for tag, scores in per_tag_scores(
        probabilities, truth, cfg.threshold, cfg.beta, list(tags)
    ).items():
        record[f"val_precision/{tag}"] = scores["precision"]
        record[f"val_recall/{tag}"] = scores["recall"]
    return record


def _tag_probabilities(
    model: nn.Module, batches: Batches, precision: str = "fp32"
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(sigmoid outputs, 0/1 truth, mean binary cross-entropy) of a multi-label split."""
    device = next(model.parameters()).device
    model.eval()
    outputs, truths = [], []
    loss_sum = torch.zeros((), device=device)
    with torch.inference_mode():
        for images, labels in batches:
            logits = forward(model, images, device, precision).float()
            targets = labels.float()
            loss_sum += nn.functional.binary_cross_entropy_with_logits(
                logits, targets, reduction="sum"
            )
            outputs.append(logits.sigmoid())
            truths.append(labels)
    tags = batches.split.labels.shape[1]
    if not outputs:
        return torch.empty(0, tags), torch.empty(0, tags, dtype=torch.uint8), 0.0
    elements = max(len(batches.split) * tags, 1)
    return torch.cat(outputs), torch.cat(truths), loss_sum.item() / elements


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


def _check_finite(loss_sum: torch.Tensor, epoch: int, step: int) -> None:
    value = loss_sum.item()
    if not math.isfinite(value):
        raise DivergedError(epoch, step, value)


def _optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
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


def _scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int) -> Any:
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


def _class_weights(split: Split, num_classes: int) -> torch.Tensor:
    """Inverse class frequency, scaled so a balanced dataset gets weight 1 everywhere."""
    counts = split.class_counts(num_classes).float().clamp(min=1)
    return counts.sum() / (num_classes * counts)


def _positive_weights(split: Split) -> torch.Tensor:
    """Per tag: images without it over images with it, as BCEWithLogitsLoss's pos_weight."""
    positives = split.labels.sum(0, dtype=torch.float32).clamp(min=1)
    return (len(split) - positives).clamp(min=1) / positives


def _sample_weights(split: Split, num_classes: int) -> torch.Tensor:
    return _class_weights(split, num_classes)[split.labels].double()


def _sampler(
    split: Split, num_classes: int, cfg: TrainConfig, generator: torch.Generator
) -> torch.utils.data.Sampler[int] | None:
    if cfg.balance == "oversample":
        return oversampler(_sample_weights(split, num_classes), generator)
    if cfg.balance == "undersample":
        return Undersampler(split.labels, generator)
    return None


class _TagLoss(nn.Module):
    """Binary cross-entropy per (image, tag), with positive weights and label smoothing."""

    def __init__(self, pos_weight: torch.Tensor | None, smoothing: float) -> None:
        super().__init__()
        self.pos_weight, self.smoothing = pos_weight, smoothing

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        targets = labels.float() * (1 - self.smoothing) + 0.5 * self.smoothing
        return nn.functional.binary_cross_entropy_with_logits(
            logits, targets, pos_weight=self.pos_weight
        )


def _loss(cfg: TrainConfig, splits: Splits, device: torch.device) -> nn.Module:
    weighted = cfg.balance == "weighted_loss"
    if splits.multilabel:
        weights = _positive_weights(splits.train).to(device) if weighted else None
        return _TagLoss(weights, cfg.label_smoothing)
    weights = _class_weights(splits.train, splits.num_classes).to(device) if weighted else None
    return nn.CrossEntropyLoss(weight=weights, label_smoothing=cfg.label_smoothing)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
