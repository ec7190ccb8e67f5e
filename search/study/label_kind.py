"""Study settings that only one kind of data has: single-label classes, or multi-label tags."""

from __future__ import annotations

from typing import Any

from search.study.params import CategoricalParam, Param

SINGLE_LABEL_METRICS = ("val_accuracy",)
MULTILABEL_METRICS = ("val_fbeta", "val_accuracy_thresh")
MULTILABEL_SETTINGS = ("threshold", "beta")  # TrainConfig's fields that only tags have


def applicable(config: dict[str, Any], multilabel: bool) -> dict[str, Any]:
    """A training config as best_config keeps it: without the settings of the other kind of
    data (a single-label study's has no threshold or beta)."""
    return (
        config if multilabel else {k: v for k, v in config.items() if k not in MULTILABEL_SETTINGS}
    )


def check_label_kind(
    multilabel: bool, metric: str, space: dict[str, Param], fixed: dict[str, Any]
) -> None:
    """Metrics and settings that only one kind of data (one class, or tags) has."""
    if multilabel and metric in SINGLE_LABEL_METRICS:
        raise ValueError(
            f"search.metric {metric} is for single-label data; a multilabel study is judged by "
            f"{', '.join(MULTILABEL_METRICS)} or val_loss"
        )
    if not multilabel and metric in MULTILABEL_METRICS:
        raise ValueError(
            f"search.metric {metric} needs multi-label data (data.source: multilabel); use "
            "val_loss or val_accuracy"
        )
    if "beta" in space:
        raise ValueError(
            "space.beta: beta defines val_fbeta, the yardstick trials are compared by, so it "
            "cannot change between trials; set it in fixed:"
        )
    for name in MULTILABEL_SETTINGS:
        if not multilabel and name in {**space, **fixed}:
            where = "space" if name in space else "fixed"
            raise ValueError(
                f"{where}.{name} only applies to multi-label data (data.source: multilabel); "
                "drop it"
            )
    if multilabel:
        balance = space.get("balance")
        choices = balance.choices if isinstance(balance, CategoricalParam) else []
        values = [fixed.get("balance"), *choices]
        for value in ("oversample", "undersample"):
            if value in values:
                where = "space" if value in choices else "fixed"
                raise ValueError(
                    f"{where}.balance {value} draws images by class, and multi-label images "
                    "carry several tags; use none or weighted_loss (positive weights per tag)"
                )
