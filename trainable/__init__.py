"""Fine-tune a pretrained image classifier for one configuration. Knows nothing of Ray or Optuna.

    from trainable import DigitsData, TrainConfig, prepare, train, evaluate

    splits = prepare(DigitsData(image_size=64))
    history = train(TrainConfig(lr=1e-3, epochs=3), splits, report=print)
    print(evaluate(history.model, splits.test, splits.classes).accuracy)

Heavy modules (torch, torchvision, timm) load on first use, so importing this package is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from trainable.config import (
    DataConfig,
    DigitsData,
    FakeData,
    ImageFolderData,
    MultiLabelData,
    TorchvisionData,
    TrainConfig,
)
from trainable.errors import (
    DataError,
    DivergedError,
    InputError,
    ModelError,
    TrainableError,
    counted,
    did_you_mean,
    shown_path,
)
from trainable.record import PER_TAG_PREFIXES, RECORD_KEYS, is_record_key

if TYPE_CHECKING:
    from trainable.data import Split, Splits, prepare
    from trainable.evaluation import evaluate, forward, resolve_device
    from trainable.loop import History, train
    from trainable.metrics import Evaluation, MultiLabelEvaluation
    from trainable.models import Classifier, build_model, check_backbone

_LAZY = {
    "Split": "trainable.data",
    "Splits": "trainable.data",
    "prepare": "trainable.data",
    "History": "trainable.loop",
    "evaluate": "trainable.evaluation",
    "forward": "trainable.evaluation",
    "resolve_device": "trainable.evaluation",
    "train": "trainable.loop",
    "Evaluation": "trainable.metrics",
    "MultiLabelEvaluation": "trainable.metrics",
    "Classifier": "trainable.models",
    "build_model": "trainable.models",
    "check_backbone": "trainable.models",
}

__all__ = [
    "PER_TAG_PREFIXES",
    "RECORD_KEYS",
    "Classifier",
    "DataConfig",
    "DataError",
    "DigitsData",
    "DivergedError",
    "Evaluation",
    "FakeData",
    "History",
    "ImageFolderData",
    "InputError",
    "ModelError",
    "MultiLabelData",
    "MultiLabelEvaluation",
    "Split",
    "Splits",
    "TorchvisionData",
    "TrainConfig",
    "TrainableError",
    "build_model",
    "check_backbone",
    "counted",
    "did_you_mean",
    "evaluate",
    "forward",
    "is_record_key",
    "prepare",
    "resolve_device",
    "shown_path",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trainable' has no attribute {name!r}")
