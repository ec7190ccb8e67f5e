"""Errors a fine-tuning run raises. Each names what was wrong and how to fix it."""

from __future__ import annotations


class TrainableError(Exception):
    """Base of every error raised by `trainable`."""


class DataError(TrainableError):
    """The data cannot be read or split as configured (missing folder, corrupt image, ...)."""


class ModelError(TrainableError):
    """The backbone or its weights cannot be built or loaded."""


class DivergedError(TrainableError):
    """The training loss became NaN or infinite: the configuration diverged (lr too high?)."""

    def __init__(self, epoch: int, step: int, loss: float) -> None:
        self.epoch, self.step, self.loss = epoch, step, loss
        super().__init__(
            f"training diverged: loss is {loss} at epoch {epoch}, step {step}; "
            "lower lr or add warmup"
        )
