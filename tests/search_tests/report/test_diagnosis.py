"""The call on over- or underfitting, from per-epoch curves."""

from __future__ import annotations

import pytest

from search.report.page import fit_diagnosis


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (
            [
                {
                    "epoch": 1,
                    "train_loss": 1.0,
                    "val_loss": 0.5,
                    "train_accuracy": 0.7,
                    "val_accuracy": 0.8,
                },
                {
                    "epoch": 2,
                    "train_loss": 0.4,
                    "val_loss": 0.3,
                    "train_accuracy": 0.9,
                    "val_accuracy": 0.9,
                },
            ],
            "No sign of overfitting",
        ),
        (
            [
                {"epoch": 1, "train_loss": 0.5, "val_loss": 0.3},
                {"epoch": 2, "train_loss": 0.2, "val_loss": 0.31},
                {"epoch": 3, "train_loss": 0.05, "val_loss": 0.45},
            ],
            "Overfitting: validation loss was lowest at epoch 1 (0.3000) and rose to 0.4500",
        ),
        (
            [
                {
                    "epoch": 1,
                    "train_loss": 0.1,
                    "val_loss": 0.3,
                    "train_accuracy": 0.99,
                    "val_accuracy": 0.8,
                }
            ],
            "Overfitting gap: training accuracy 0.990",
        ),
        (
            [
                {
                    "epoch": 1,
                    "train_loss": 2.0,
                    "val_loss": 2.1,
                    "train_accuracy": 0.3,
                    "val_accuracy": 0.3,
                }
            ],
            "Underfitting",
        ),
        ([], "No per-epoch curves"),
    ],
)
def test_fit_diagnosis(history: list[dict], expected: str) -> None:
    assert expected in fit_diagnosis(history)
