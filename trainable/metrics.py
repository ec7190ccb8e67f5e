"""Classification metrics of one evaluation: what test_metrics.json holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Evaluation:
    loss: float  # mean cross-entropy, no label smoothing or class weights
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]  # class -> precision, recall, f1, support
    confusion_matrix: list[list[int]]  # rows: true class, columns: predicted
    classes: list[str]
    images: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def classification_metrics(
    predictions: np.ndarray, targets: np.ndarray, classes: list[str], loss: float
) -> Evaluation:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(classes)))
    precision, recall, f1, support = precision_recall_fscore_support(
        targets, predictions, labels=labels, zero_division=0
    )
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }
    present = support > 0  # a class absent from this split does not drag macro F1 to 0
    return Evaluation(
        loss=float(loss),
        accuracy=float((predictions == targets).mean()) if len(targets) else 0.0,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class=per_class,
        confusion_matrix=confusion_matrix(targets, predictions, labels=labels).tolist(),
        classes=list(classes),
        images=len(targets),
    )
