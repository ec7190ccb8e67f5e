"""`train()`: the epoch loop, its record, early stopping, freezing and the schedule it follows."""

from __future__ import annotations

import math

import pytest
import torch

from trainable import (
    DataError,
    DivergedError,
    TrainConfig,
    evaluate,
    is_record_key,
    prepare,
    train,
)
from trainable import loop as loop_module
from trainable.data import Splits

REQUIRED = {
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
    "images_per_second",
    "data_wait_fraction",
}


def test_report_is_called_once_per_epoch_with_the_metrics(fake_splits: Splits, tiny_config) -> None:
    calls: list[tuple[int, dict[str, float]]] = []
    history = train(
        tiny_config.model_copy(update={"epochs": 3}),
        fake_splits,
        report=lambda epoch, m: calls.append((epoch, m)),
    )
    assert [epoch for epoch, _ in calls] == [1, 2, 3]
    assert all(set(m) >= REQUIRED and m["epoch"] == e for e, m in calls)
    assert all(math.isfinite(m["val_loss"]) for _, m in calls)
    assert history.epochs_run == 3 and history.history["epoch"] == [1, 2, 3]


def test_same_seed_same_history_on_cpu(fake_splits: Splits, tiny_config) -> None:
    cfg = tiny_config.model_copy(update={"augment": "standard", "dropout": 0.3})
    drop = ("seconds", "images_per_second", "elapsed_seconds", "data_wait_fraction")
    runs = [train(cfg, fake_splits, device="cpu").records for _ in range(2)]
    first, second = ([{k: v for k, v in r.items() if k not in drop} for r in run] for run in runs)
    assert first == second
    other = train(cfg.model_copy(update={"seed": 1}), fake_splits, device="cpu").records
    assert other[0]["train_loss"] != runs[0][0]["train_loss"]


def test_lr_of_ten_diverges(fake_splits: Splits) -> None:
    cfg = TrainConfig(
        weights="none", lr=10.0, optimizer="sgd", schedule="constant", epochs=3, batch_size=8
    )
    with pytest.raises(DivergedError, match=r"training diverged: loss is (nan|inf)"):
        train(cfg, fake_splits)


@pytest.mark.parametrize("level", ["light", "standard", "strong", True])
def test_augmentation_touches_training_only(
    fake_splits: Splits, tiny_config, monkeypatch, level
) -> None:
    """Validation and test feed the model the stored images, pixel for pixel; training never."""
    seen: dict[bool, list[torch.Tensor]] = {True: [], False: []}
    build = loop_module.build_model
    built: list[torch.nn.Module] = []

    def recording(*args, **kwargs):
        model = build(*args, **kwargs)
        model.register_forward_pre_hook(
            lambda m, inputs: seen[m.training].append(inputs[0].clone())
        )
        built.append(model)
        return model

    monkeypatch.setattr(loop_module, "build_model", recording)
    cfg = TrainConfig(**{**tiny_config.model_dump(), "augment": level, "epochs": 1})
    assert cfg.augment != "none"
    train(cfg, fake_splits)
    assert torch.equal(torch.cat(seen[False]), fake_splits.val.images.tensor)
    train_batches = torch.cat(seen[True])
    assert train_batches.dtype == torch.float32 and 0 <= train_batches.min() <= 1
    stored_train = fake_splits.train.images.tensor.float() / 255
    # Augmented: not a single training image passes unchanged.
    assert not any(torch.allclose(img, ref) for img in train_batches for ref in stored_train)
    seen[False].clear()
    evaluate(built[0], fake_splits.test, fake_splits.classes)
    assert torch.equal(torch.cat(seen[False]), fake_splits.test.images.tensor)


def test_early_stopping_stops_after_patience_epochs(
    fake_splits: Splits, tiny_config, monkeypatch
) -> None:
    losses = iter([1.0, 0.8, 0.9, 0.95, 0.7, 0.6])
    monkeypatch.setattr(
        loop_module, "validate", lambda *a, **k: {"val_loss": next(losses), "val_accuracy": 0.5}
    )
    cfg = tiny_config.model_copy(update={"epochs": 6, "early_stopping_patience": 2})
    history = train(cfg, fake_splits)
    assert history.epochs_run == 4 and history.stopped_early


@pytest.mark.parametrize(
    ("freeze", "body_moves"), [("backbone", [False, False]), ("warmup", [False, True])]
)
def test_freeze_policies(fake_splits: Splits, tiny_config, monkeypatch, freeze, body_moves) -> None:
    """backbone: only the head learns; warmup: the head for one epoch, then everything."""
    built: list[torch.nn.Module] = []
    build = loop_module.build_model
    monkeypatch.setattr(
        loop_module, "build_model", lambda *a, **k: built.append(build(*a, **k)) or built[-1]
    )
    states: list[dict[str, torch.Tensor]] = []
    cfg = tiny_config.model_copy(update={"freeze": freeze, "epochs": 2})
    train(
        cfg,
        fake_splits,
        report=lambda epoch, m: states.append(
            {k: v.clone() for k, v in built[0].state_dict().items()}
        ),
    )
    torch.manual_seed(cfg.seed)  # train() seeds the same way before it builds
    initial = build(cfg.backbone, cfg.weights, 3, cfg.dropout).state_dict()
    for state, moves in zip(states, body_moves, strict=True):
        assert not torch.equal(state["head.1.weight"], initial["head.1.weight"])
        assert (
            torch.equal(state["body.conv_stem.weight"], initial["body.conv_stem.weight"]) != moves
        )
        # Frozen BatchNorm keeps its pretrained statistics.
        assert (
            torch.equal(state["body.bn1.running_mean"], initial["body.bn1.running_mean"]) != moves
        )


def test_a_run_shorter_than_its_schedule_follows_the_full_runs_lr(
    fake_splits: Splits, tiny_config
) -> None:
    full = train(tiny_config.model_copy(update={"epochs": 4}), fake_splits).records
    cfg = TrainConfig(**{**tiny_config.model_dump(), "epochs": 2, "schedule_epochs": 4})
    cut = train(cfg, fake_splits).records
    assert len(cut) == 2 and cfg.horizon == 4
    assert [r["lr"] for r in cut] == [r["lr"] for r in full[:2]]
    assert cut[1]["train_loss"] == pytest.approx(full[1]["train_loss"])


def test_refit_without_validation_reports_train_metrics_only(
    fake_splits: Splits, tiny_config
) -> None:
    history = train(tiny_config, fake_splits.for_refit())
    assert "val_loss" not in history.records[0]
    assert history.records[0]["train_loss"] > 0


def test_the_wait_for_data_is_a_fraction_of_the_epoch(fake_splits: Splits, tiny_config) -> None:
    history = train(tiny_config.model_copy(update={"augment": "strong"}), fake_splits)
    waits = history.history["data_wait_fraction"]
    assert all(0 < w < 1 for w in waits)  # augmentation on the host's clock, below the whole


@pytest.mark.slow
def test_pretrained_weights_learn_digits_in_one_epoch() -> None:
    """Transfer learning visible: one epoch from ImageNet weights beats chance by far."""
    from trainable import DigitsData

    splits = prepare(DigitsData(image_size=32))
    history = train(TrainConfig(lr=3e-3, epochs=1, batch_size=32), splits)
    assert history.records[-1]["val_accuracy"] > 0.6


def test_multilabel_training_reports_tag_metrics_and_evaluates_tag_sets(
    tag_splits: Splits, tiny_config
) -> None:
    calls: list[dict[str, float]] = []
    cfg = TrainConfig(**{**tiny_config.model_dump(), "balance": "weighted_loss", "augment": True})
    history = train(cfg, tag_splits, report=lambda epoch, m: calls.append(m))
    expected = {
        "train_loss",
        "train_accuracy_thresh",
        "val_loss",
        "val_fbeta",
        "val_accuracy_thresh",
        "val_best_threshold",
        "val_precision/a",
        "val_recall/c",
    }
    assert len(calls) == 2 and all(set(m) >= expected for m in calls)
    assert "val_accuracy" not in calls[0]
    assert all(0 <= m["val_fbeta"] <= 1 and math.isfinite(m["val_loss"]) for m in calls)
    result = evaluate(history.model, tag_splits.test, tag_splits.classes, threshold=0.3)
    assert result.kind == "multilabel" and result.images == 15 and result.threshold == 0.3
    assert set(result.per_tag) == {"a", "b", "c"}
    assert sum(s["support"] for s in result.per_tag.values()) == int(tag_splits.test.labels.sum())


@pytest.mark.parametrize("balance", ["oversample", "undersample"])
def test_drawing_by_class_is_refused_for_multilabel_data(
    tag_splits: Splits, tiny_config, balance
) -> None:
    cfg = tiny_config.model_copy(update={"balance": balance})
    with pytest.raises(DataError, match=f"balance={balance} draws images by class.*weighted_loss"):
        train(cfg, tag_splits)


def test_every_number_recorded_is_named_in_record_keys(
    fake_splits: Splits, tag_splits: Splits, tiny_config
) -> None:
    """What a search keeps of an epoch is named in trainable.record: a new number must be too."""
    for splits in (fake_splits, tag_splits, fake_splits.for_refit()):
        records = train(tiny_config.model_copy(update={"epochs": 1}), splits).records
        assert [k for k in records[0] if not is_record_key(k)] == []
