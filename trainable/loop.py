"""`train()`: fine-tune one configuration, epoch by epoch.

Each epoch trains, then validates (trainable.evaluation), then calls `report(epoch, metrics)`:
the one hook a search needs (it may raise to stop the run). `Fit` is everything a run trains
with, built once; `step` is one optimizer step of it, which `measure_steps` times too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from trainable.augment import Augment
from trainable.batches import Batches
from trainable.config import TrainConfig
from trainable.data import Splits
from trainable.errors import DataError
from trainable.evaluation import check_finite, forward, on_device, resolve_device, validate
from trainable.models import Classifier, build_model, set_backbone_trainable
from trainable.recipe import (
    Anchor,
    Average,
    fit_probe,
    loss_for,
    optimizer_for,
    sampler_for,
    schedule_for,
    seed_everything,
)

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
    fit = Fit.set_up(cfg, splits, resolve_device(device), num_workers)
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
    fit.finish()
    fit.model.eval()
    return history


@dataclass
class Fit:
    """Everything one run trains with, built once before the first epoch."""

    cfg: TrainConfig
    model: Classifier
    batches: Batches
    val: Batches | None
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    tags: tuple[str, ...]  # the class (tag) names, for per-tag scores
    anchor: Anchor | None = None  # stay_near > 0: the pull toward the pretrained weights
    average: Average | None = None  # ema_half_life: the weights' moving average
    probed: dict[str, float] = field(default_factory=dict)  # freeze: probe: the head's fit

    @classmethod
    def set_up(
        cls, cfg: TrainConfig, splits: Splits, device: torch.device, num_workers: int
    ) -> Fit:
        if splits.multilabel and cfg.balance in ("oversample", "undersample"):
            raise DataError(
                f"balance={cfg.balance} draws images by class, and these images carry several "
                "tags each; balance multi-label data with balance=weighted_loss"
            )
        seed_everything(cfg.seed)
        model = build_model(cfg.backbone, cfg.weights, splits.num_classes, cfg.dropout)
        model = on_device(device, model)
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
            sampler=sampler_for(splits.train, splits.num_classes, cfg, generator),
            transform=augment,
            num_workers=num_workers,
        )
        val = None
        if splits.val:
            val = Batches(splits.val, 2 * cfg.batch_size, device, num_workers=num_workers)
        loss_fn = loss_for(cfg, splits, device)
        probed = {}
        if cfg.freeze == "probe":  # the head fitted before any step: LP, then FT
            plain = Batches(splits.train, 2 * cfg.batch_size, device, num_workers=num_workers)
            probed = fit_probe(model, plain, loss_fn)
        optimizer = optimizer_for(cfg, model)
        scheduler = schedule_for(cfg, optimizer, cfg.horizon * len(batches))
        anchor = Anchor(model, cfg.stay_near) if cfg.stay_near > 0 else None
        average = None
        if cfg.ema_half_life is not None:
            average = Average(model, cfg.ema_half_life, len(batches))
        return cls(
            cfg,
            model,
            batches,
            val,
            loss_fn,
            optimizer,
            scheduler,
            splits.classes,
            anchor,
            average,
            probed,
        )

    @property
    def scored(self) -> nn.Module:
        """The model validation scores: the moving average where there is one."""
        return self.average.module if self.average is not None else self.model

    def finish(self) -> None:
        """The run's model is the average where there is one: refitted, saved and exported."""
        if self.average is not None:
            self.model.load_state_dict(self.average.module.state_dict())

    def epoch(self, epoch: int) -> dict[str, float]:
        """Train one epoch, then validate: the epoch's record, less its number and clock."""
        cfg = self.cfg
        frozen = cfg.freeze == "backbone" or (cfg.freeze == "warmup" and epoch == 1)
        set_backbone_trainable(self.model, not frozen)
        self.model.train()
        if frozen:  # keep the pretrained BatchNorm statistics while only the head learns
            self.model.body.eval()
        record = self._train_epoch(epoch)
        if epoch == 1:
            record.update(self.probed)
        if self.val is not None:
            record.update(validate(self.scored, self.val, cfg, epoch, self.tags))
        return record

    def step(
        self, images: torch.Tensor, labels: torch.Tensor, *, scheduled: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step on one batch: (logits, loss), neither synced to the host.
        `scheduled=False` leaves the learning rate where it is (a probe steps past the
        schedule's end)."""
        logits = forward(self.model, images, images.device, self.cfg.precision)
        loss = self.loss_fn(logits.float(), labels)
        objective = loss + self.anchor() if self.anchor is not None else loss
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        self.optimizer.step()
        if scheduled and self.scheduler is not None:
            self.scheduler.step()
        if self.average is not None:
            self.average.update(self.model)
        return logits, loss

    def _train_epoch(self, epoch: int) -> dict[str, float]:
        device = self.batches.device
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device)
        seen, waited, start = 0, 0.0, time.perf_counter()
        steps, batch_iter = 0, iter(self.batches)
        while True:
            asked = time.perf_counter()
            batch = next(batch_iter, None)  # the host's wait for data (loading, augmentation)
            waited += time.perf_counter() - asked
            if batch is None:
                break
            images, labels = batch
            steps += 1
            logits, loss = self.step(images, labels)
            loss_sum += loss.detach() * len(labels)
            correct += self._correct(logits.detach(), labels)
            seen += len(labels)
            if steps % CHECK_EVERY == 0 or steps == len(self.batches):
                check_finite(loss_sum, epoch, steps)
        seconds = time.perf_counter() - start
        accuracy = "train_accuracy_thresh" if self.batches.split.multilabel else "train_accuracy"
        record = {
            "train_loss": loss_sum.item() / max(seen, 1),
            accuracy: correct.item() / max(seen, 1),
            "lr": max(group["lr"] for group in self.optimizer.param_groups),  # the head's
            "seconds": seconds,
            "images_per_second": seen / seconds if seconds > 0 else 0.0,
            "data_wait_fraction": waited / seconds if seconds > 0 else 0.0,
        }
        if device.type == "cuda":
            record["peak_memory_mib"] = torch.cuda.max_memory_reserved(device) / 2**20
        return record

    def _correct(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Images classified right; multi-label: right (image, tag) pairs, counted per image."""
        if self.batches.split.multilabel:
            predicted = logits.float().sigmoid() > self.cfg.threshold
            return (predicted == labels.bool()).sum() / labels.shape[1]
        return (logits.argmax(1) == labels).sum()
