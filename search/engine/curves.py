"""A trial's per-epoch curves: collected as records while it runs, stored Keras-style.

The Optuna user attr `history` holds {"epoch": [1, 2], "val_loss": [0.9, 0.5], ...}, like
Keras's `history.history`, rounded to 5 significant digits: compact enough to read in the
dashboard's trial view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from search.engine.trial_attrs import HISTORY

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

KEYS = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "train_accuracy_thresh",
    "val_loss",
    "val_accuracy",
    "val_fbeta",
    "val_accuracy_thresh",
    "val_best_threshold",
    "lr",
    "seconds",
)


def add_epoch(records: list[dict[str, float]], result: dict[str, Any]) -> None:
    """Append a reported result's curves, once per epoch."""
    if "epoch" not in result or any(r["epoch"] == result["epoch"] for r in records):
        return
    records.append({k: result[k] for k in KEYS if isinstance(result.get(k), (int, float))})


def to_history(records: list[dict[str, float]]) -> dict[str, list[float]]:
    keys = [k for k in KEYS if all(k in r for r in records)]
    return {k: [float(f"{r[k]:.5g}") for r in records] for k in keys}


def records_of(trial: FrozenTrial) -> list[dict[str, float]]:
    """The per-epoch records of a finished trial (empty if none were kept)."""
    history = trial.user_attrs.get(HISTORY) or {}
    columns = list(history.values())
    return [dict(zip(history, row, strict=True)) for row in zip(*columns, strict=True)]
