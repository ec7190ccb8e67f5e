"""A trial's curves keep trainable's whole record, and nothing of Ray's beside it."""

from __future__ import annotations

import optuna

from search.trials.attrs import HISTORY
from search.trials.curves import add_epoch, per_tag, records_of, to_history
from trainable import FakeData, TrainConfig, prepare, train

RAY_KEYS = {"training_iteration": 1, "time_this_iter_s": 0.1, "trial_id": "a1", "node": "ab"}


def test_every_number_train_records_reaches_the_stored_history() -> None:
    splits = prepare(FakeData(source="fake", samples=30, classes=3, image_size=8))
    history = train(TrainConfig(weights="none", epochs=2, batch_size=8), splits)
    kept: list[dict[str, float]] = []
    for record in history.records:
        add_epoch(kept, {**record, **RAY_KEYS})
        add_epoch(kept, {**record, **RAY_KEYS})  # a stopped trial's last epoch comes twice
    assert kept == history.records
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr(HISTORY, to_history(kept))
    study.tell(trial, 1.0)
    stored = records_of(study.trials[0])
    assert [set(r) for r in stored] == [set(r) for r in history.records]
    assert [r["epoch"] for r in stored] == [1, 2]


def test_per_tag_scores_are_kept_beside_the_history() -> None:
    records: list[dict[str, float]] = []
    for epoch, precision in ((1, 0.5), (2, 0.75)):
        result = {"epoch": epoch, "val_loss": 0.3, "val_precision/cloudy": precision}
        add_epoch(records, {**result, "val_recall/cloudy": 0.123456, **RAY_KEYS})
    assert per_tag(records, 2) == {"cloudy": {"precision": 0.75, "recall": 0.1235}}
    assert per_tag(records, None) == per_tag(records, 2)
    assert set(to_history(records)) == {"epoch", "val_loss"}
