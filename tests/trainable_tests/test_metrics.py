from __future__ import annotations

import json

import numpy as np
import pytest

from trainable.metrics import classification_metrics


def test_metrics_of_a_known_confusion() -> None:
    predicted = np.array([0, 0, 1, 1, 2])
    truth = np.array([0, 1, 1, 1, 2])
    result = classification_metrics(predicted, truth, ["a", "b", "c"], loss=0.5)
    assert result.accuracy == pytest.approx(0.8)
    assert result.per_class["a"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert result.per_class["b"]["recall"] == pytest.approx(2 / 3)
    assert result.confusion_matrix == [[1, 0, 0], [1, 2, 0], [0, 0, 1]]
    assert result.macro_f1 == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)


def test_macro_f1_ignores_classes_absent_from_the_split() -> None:
    result = classification_metrics(np.array([0, 1]), np.array([0, 1]), ["a", "b", "c"], loss=0.0)
    assert result.macro_f1 == 1.0 and result.per_class["c"]["support"] == 0


def test_evaluation_is_json_serialisable() -> None:
    result = classification_metrics(np.array([0]), np.array([0]), ["a", "b"], loss=0.1)
    assert json.loads(json.dumps(result.to_dict()))["accuracy"] == 1.0
