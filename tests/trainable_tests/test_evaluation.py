"""Scoring a model: evaluation batches, `evaluate()` and the validation record."""

from __future__ import annotations

import pytest
import torch

from trainable import DivergedError, evaluate, train
from trainable.batches import Batches
from trainable.data import Splits
from trainable.evaluation import validate


def test_evaluate_gives_the_full_metrics(fake_splits: Splits, tiny_config) -> None:
    history = train(tiny_config.model_copy(update={"epochs": 1}), fake_splits)
    result = evaluate(history.model, fake_splits.test, fake_splits.classes)
    assert result.images == len(fake_splits.test)
    assert sum(map(sum, result.confusion_matrix)) == len(fake_splits.test)
    assert set(result.per_class) == set(fake_splits.classes)
    assert 0 <= result.accuracy <= 1 and result.loss > 0


def test_evaluate_runs_in_the_precision_it_is_given(fake_splits: Splits, tiny_config) -> None:
    """bf16 autocast (what a GPU refit uses) scores the same model a little differently; fp32
    (auto on a CPU) exactly as before."""
    model = train(tiny_config.model_copy(update={"epochs": 1}), fake_splits).model
    fp32 = evaluate(model, fake_splits.test, fake_splits.classes, precision="fp32")
    auto = evaluate(model, fake_splits.test, fake_splits.classes)
    bf16 = evaluate(model, fake_splits.test, fake_splits.classes, precision="bf16")
    assert auto.loss == fp32.loss
    assert bf16.loss != fp32.loss and bf16.loss == pytest.approx(fp32.loss, rel=0.05)


def test_validation_scores_a_split_as_evaluate_does(fake_splits: Splits, tiny_config) -> None:
    """One cross-entropy and one argmax serve the per-epoch record and the test score."""
    model = train(tiny_config.model_copy(update={"epochs": 1}), fake_splits).model
    batches = Batches(fake_splits.val, 7, torch.device("cpu"))
    record = validate(model, batches, tiny_config, 1, fake_splits.classes)
    scored = evaluate(model, fake_splits.val, fake_splits.classes, precision="fp32")
    assert record["val_loss"] == pytest.approx(scored.loss, rel=1e-6)
    assert record["val_accuracy"] == scored.accuracy


def test_a_non_finite_validation_loss_is_divergence(fake_splits: Splits, tiny_config) -> None:
    model = train(tiny_config.model_copy(update={"epochs": 1}), fake_splits).model
    with torch.no_grad():
        model.head[1].weight.fill_(float("nan"))
    batches = Batches(fake_splits.val, 7, torch.device("cpu"))
    with pytest.raises(DivergedError, match=r"loss is nan at epoch 3, step 2;"):
        validate(model, batches, tiny_config, 3, fake_splits.classes)
