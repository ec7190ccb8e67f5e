"""The function Ray runs for a trial: deterministic failures are reported, others raise."""

from __future__ import annotations

import pytest
import torch

from search.study.spec import parse_study_spec
from search.trials.attrs import GPUS, NODE
from tests.search_tests.helpers import tiny_study
from trainable import prepare


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        ("diverged", "DivergedError: training diverged"),
        ("oom", "CUDA out of memory at batch_size=16: lower batch_size"),
        ("oom shared", "CUDA out of memory at batch_size=16 (22% of the GPU's memory, its share)"),
        ("config", "ValidationError"),
    ],
)
def test_objective_reports_deterministic_failures(
    monkeypatch, fake_reports, raised, expected
) -> None:
    from search.engine import objective as module
    from trainable import DivergedError

    def failing(cfg, splits, report, num_workers):
        report(1, {"epoch": 1, "val_loss": 1.0})
        if raised == "diverged":
            raise DivergedError(2, 5, float("nan"))
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(module, "train", failing)
    config = {"lr": 0.1} if raised != "config" else {"lr": -1.0}
    lr_only = {"lr": {"type": "float", "low": 1e-4, "high": 1e-2}}
    gpus = 0.25 if raised == "oom shared" else 0  # a quarter of a GPU: 90% of a quarter of it
    spec = parse_study_spec(
        tiny_study(space=lr_only, fixed={"batch_size": 16}, resources={"gpus_per_trial": gpus})
    )
    module.objective(config, splits=prepare(spec.data), spec=spec)
    assert expected in fake_reports[-1]["failed"]
    if raised != "config":
        assert fake_reports[0].items() >= {"epoch": 1, "val_loss": 1.0}.items()
    assert all(NODE in report and GPUS in report for report in fake_reports)


def test_objective_lets_other_errors_raise_for_a_retry(monkeypatch, fake_reports) -> None:
    from search.engine import objective as module

    def flaky(cfg, splits, report, num_workers):
        raise OSError("disk hiccup")

    monkeypatch.setattr(module, "train", flaky)
    spec = parse_study_spec(tiny_study())
    with pytest.raises(OSError, match="disk hiccup"):
        module.objective({}, splits=prepare(spec.data), spec=spec)


def test_a_data_folder_gone_fails_the_trial_in_one_line(
    monkeypatch, fake_reports, image_tree
) -> None:
    """The data folder gone from under a running search, on one machine: named, with the
    path, as moved or deleted (on a cluster: the node without it, data_unreadable_here)."""
    import shutil

    from search.engine import objective as module

    monkeypatch.setattr(module, "train", lambda *a, **k: pytest.fail("must not train"))
    root = image_tree()
    data = {"source": "imagefolder", "root": str(root), "image_size": 16, "in_memory_mib": 0}
    spec = parse_study_spec({**tiny_study(), "data": data})
    splits = prepare(spec.data)
    shutil.rmtree(root)  # deleted while the search ran
    module.objective({}, splits=splits, spec=spec)
    (report,) = fake_reports
    assert report["failed"].startswith(f"DataError: {splits.train.images.paths[0]} is not ")
    assert "moved or deleted while the search ran" in report["failed"]
    assert "\n" not in report["failed"]


@pytest.fixture
def fake_reports(monkeypatch) -> list[dict]:
    reports: list[dict] = []
    monkeypatch.setattr("ray.tune.report", reports.append)
    return reports
