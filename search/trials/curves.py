"""A trial's per-epoch curves: collected as records while it runs, stored Keras-style.

What is kept of each reported result is trainable's own record (`trainable.RECORD_KEYS` and the
per-tag scores), never Ray's bookkeeping beside it.

The Optuna user attr `history` holds {"epoch": [1, 2], "val_loss": [0.9, 0.5], ...}, like
Keras's `history.history`, rounded to 5 significant digits: compact enough to read in the
dashboard's trial view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from search.trials.attrs import HISTORY
from trainable import PER_TAG_PREFIXES, RECORD_KEYS, is_record_key

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


def add_epoch(records: list[dict[str, float]], result: dict[str, Any]) -> None:
    """Append a reported result's curves (and per-tag scores), once per epoch."""
    if "epoch" not in result or any(r["epoch"] == result["epoch"] for r in records):
        return
    records.append(
        {k: v for k, v in result.items() if is_record_key(k) and isinstance(v, (int, float))}
    )


def per_tag(records: list[dict[str, float]], epoch: int | None) -> dict[str, dict[str, float]]:
    """Multi-label: each tag's validation precision and recall at `epoch` (None: the last)."""
    chosen = [r for r in records if epoch is None or int(r["epoch"]) == epoch][-1:]
    scores: dict[str, dict[str, float]] = {}
    for key, value in (chosen[0] if chosen else {}).items():
        for prefix in PER_TAG_PREFIXES:
            if key.startswith(prefix):
                name = prefix.removeprefix("val_").rstrip("/")
                scores.setdefault(key.removeprefix(prefix), {})[name] = round(value, 4)
    return scores


def to_history(records: list[dict[str, float]]) -> dict[str, list[float]]:
    """Keras-style columns of the keys every record has; per-tag scores are kept apart."""
    keys = [k for k in RECORD_KEYS if all(k in r for r in records)]
    return {k: [float(f"{r[k]:.5g}") for r in records] for k in keys}


def records_of(trial: FrozenTrial) -> list[dict[str, float]]:
    """The per-epoch records of a finished trial (empty if none were kept)."""
    history = trial.user_attrs.get(HISTORY) or {}
    columns = list(history.values())
    return [dict(zip(history, row, strict=True)) for row in zip(*columns, strict=True)]
