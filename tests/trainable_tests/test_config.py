from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from trainable import DataConfig, TrainConfig


def error_text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(exc.value)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("lr", -1.0, "greater than 0"),
        ("batch_size", 0, "greater than or equal to 1"),
        ("dropout", 1.0, "less than 1"),
        ("optimizer", "adam", "'adamw' or 'sgd'"),
        ("schedule", "step", "'one_cycle', 'cosine' or 'constant'"),
        ("freeze", "all", "'none', 'backbone', 'warmup' or 'probe'"),
        ("balance", "smote", "'none', 'oversample', 'undersample' or 'weighted_loss'"),
    ],
)
def test_invalid_value_names_field_value_and_rule(field: str, value: object, expected: str) -> None:
    with pytest.raises(ValidationError) as exc:
        TrainConfig(**{field: value})
    assert field in error_text(exc)
    assert repr(value) in error_text(exc) or str(value) in error_text(exc)
    assert expected in error_text(exc)


def test_unknown_field_is_an_error_not_ignored() -> None:
    with pytest.raises(ValidationError, match="learning_rate"):
        TrainConfig(learning_rate=0.1)


def test_config_is_frozen() -> None:
    cfg = TrainConfig()
    with pytest.raises(ValidationError):
        cfg.lr = 0.5  # type: ignore[misc]


def test_warmup_freeze_needs_two_epochs() -> None:
    with pytest.raises(ValidationError, match="epochs must be >= 2, got 1"):
        TrainConfig(freeze="warmup", epochs=1)


def test_data_sources_are_chosen_by_source_key() -> None:
    adapter = TypeAdapter(DataConfig)
    assert adapter.validate_python({"source": "digits"}).hflip is False
    folder = adapter.validate_python({"source": "imagefolder", "root": "x"})
    assert folder.on_bad_file == "skip"
    with pytest.raises(ValidationError, match="root"):
        adapter.validate_python({"source": "imagefolder"})
    with pytest.raises(ValidationError, match="'digits', 'imagefolder', 'torchvision', 'fake'"):
        adapter.validate_python({"source": "csv"})


def test_fractions_must_leave_training_data() -> None:
    with pytest.raises(ValidationError, match=r"val_fraction \+ test_fraction must be < 1"):
        TypeAdapter(DataConfig).validate_python(
            {"source": "digits", "val_fraction": 0.5, "test_fraction": 0.5}
        )
