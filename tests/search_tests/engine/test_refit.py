"""The refit in the process it is placed in: set up as a trial is, then scored once on test.
(Its placement, waiting and progress through Ray run in test_run.py.)"""

from __future__ import annotations

import pytest
import torch

import trainable
from search.engine.objective import objective
from search.engine.refit import train_and_test
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study
from trainable.images import TensorImages


@pytest.fixture
def on_disk(image_tree):
    """A study whose images stay files on disk (in_memory_mib: 0), with 2 CPUs a trial."""
    data = {"source": "imagefolder", "root": str(image_tree()), "image_size": 16}
    raw = tiny_study(
        data={**data, "in_memory_mib": 0},
        space={"lr": {"type": "float", "low": 1e-3, "high": 1e-2}},
        fixed={"epochs": 1, "batch_size": 4},
        resources={"cpus_per_trial": 2},
    )
    return parse_study_spec(raw)


@pytest.fixture
def loader_workers(monkeypatch) -> list[int]:
    """The loader workers each train() call is given (it still trains, with them)."""
    asked: list[int] = []
    real = trainable.train

    def recording(cfg, splits, report=None, **options):
        asked.append(options.get("num_workers", 0))
        return real(cfg, splits, report, **options)

    monkeypatch.setattr("search.engine.refit.train", recording)
    monkeypatch.setattr("search.engine.objective.train", recording)
    monkeypatch.setattr("ray.tune.report", lambda result: None)
    threads = torch.get_num_threads()
    yield asked
    torch.set_num_threads(threads)


def test_the_refit_loads_files_with_the_workers_of_a_trial(on_disk, loader_workers) -> None:
    """It used to train on train + val with no loader workers at all, while a trial of the
    same CPUs loaded its batches on cpus - 1 processes."""
    splits = trainable.prepare(on_disk.data)
    assert not isinstance(splits.train.images, TensorImages)  # files, loaded per batch
    objective({"lr": 0.005}, splits=splits, spec=on_disk)
    config = on_disk.train_config({"lr": 0.005})
    fitted = train_and_test(config, splits, on_disk.resources.cpus_per_trial, ())
    assert loader_workers == [1, 1]
    history = fitted.history
    assert len(history) == 1 and "train_loss" in history[0] and "val_loss" not in history[0]
    assert fitted.test.images == len(splits.test) and fitted.state_dict
    # model.onnx, fed the test split's raw uint8 images, answers as the PyTorch model does.
    assert fitted.onnx.startswith(b"\x08") and fitted.onnx_check["images"] == len(splits.test)
    assert fitted.onnx_check["top1_agreement"] == 1.0
    assert abs(fitted.onnx_check["accuracy"] - fitted.onnx_check["torch_accuracy"]) <= 0.001
