"""Errors a fine-tuning run raises. Each names what was wrong and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class TrainableError(Exception):
    """Base of every error raised by `trainable`."""


class DataError(TrainableError):
    """The data cannot be read or split as configured (missing folder, corrupt image, ...)."""


class ModelError(TrainableError):
    """The backbone or its weights cannot be built or loaded."""


class InputError(TrainableError, ValueError):
    """Images given to `predict` in a form it does not take (the message says what it does)."""


class DivergedError(TrainableError):
    """The training loss became NaN or infinite: the configuration diverged (lr too high?)."""

    def __init__(self, epoch: int, step: int, loss: float) -> None:
        self.epoch, self.step, self.loss = epoch, step, loss
        super().__init__(
            f"training diverged: loss is {loss} at epoch {epoch}, step {step}; "
            "lower lr or add warmup"
        )


def counted(n: int, noun: str) -> str:
    """'1 image', '2 images': a count for a message."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def shown_path(path: Path | str) -> str:
    """A path for an error: as written, and where a relative one resolved to (it is read from
    the folder the command runs in, which may not be the one the study file is in)."""
    path = Path(path).expanduser()
    return str(path) if path.is_absolute() else f"{path} (resolved to {path.absolute()})"


def did_you_mean(
    word: str, choices: Iterable[str], otherwise: str, *, n: int = 1, cutoff: float = 0.6
) -> str:
    """'did you mean a, b?' for the choices closest to a misspelt word, else `otherwise`.

    The one spelling-hint helper of the project: study-file keys, backbones, dataset names.
    """
    close = difflib.get_close_matches(word, list(dict.fromkeys(choices)), n=n, cutoff=cutoff)
    return f"did you mean {', '.join(close)}?" if close else otherwise
