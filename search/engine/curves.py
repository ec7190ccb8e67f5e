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
    "images_per_second",
    "data_wait_fraction",  # of the epoch's training time, the host waiting for the next batch
    "peak_memory_mib",  # on a GPU: the caching allocator's peak (the CUDA context excluded)
)


PER_TAG = ("val_precision/", "val_recall/")  # multi-label: each tag's scores, per epoch


def add_epoch(records: list[dict[str, float]], result: dict[str, Any]) -> None:
    """Append a reported result's curves (and per-tag scores), once per epoch."""
    if "epoch" not in result or any(r["epoch"] == result["epoch"] for r in records):
        return
    records.append(
        {
            k: v
            for k, v in result.items()
            if (k in KEYS or k.startswith(PER_TAG)) and isinstance(v, (int, float))
        }
    )


def per_tag(records: list[dict[str, float]], epoch: int | None) -> dict[str, dict[str, float]]:
    """Multi-label: each tag's validation precision and recall at `epoch` (None: the last)."""
    chosen = [r for r in records if epoch is None or int(r["epoch"]) == epoch][-1:]
    scores: dict[str, dict[str, float]] = {}
    for key, value in (chosen[0] if chosen else {}).items():
        for prefix in PER_TAG:
            if key.startswith(prefix):
                name = prefix.removeprefix("val_").rstrip("/")
                scores.setdefault(key.removeprefix(prefix), {})[name] = round(value, 4)
    return scores


def to_history(records: list[dict[str, float]]) -> dict[str, list[float]]:
    keys = [k for k in KEYS if all(k in r for r in records)]
    return {k: [float(f"{r[k]:.5g}") for r in records] for k in keys}


def records_of(trial: FrozenTrial) -> list[dict[str, float]]:
    """The per-epoch records of a finished trial (empty if none were kept)."""
    history = trial.user_attrs.get(HISTORY) or {}
    columns = list(history.values())
    return [dict(zip(history, row, strict=True)) for row in zip(*columns, strict=True)]
