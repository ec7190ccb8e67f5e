"""Every benchmark still runs (tiny arguments): API drift must not leave one broken.

Nothing here asserts a timing; the figures come from running the benchmarks themselves.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.search_tests.helpers import benchmark_module

pytestmark = pytest.mark.slow
BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
TINY_STUDY = str(Path(__file__).parent / "search_tests" / "tiny_quality.yaml")
TINY_BACKBONES = str(Path(__file__).parent / "search_tests" / "tiny_backbones.yaml")


def _ran(script: str, *arguments: str) -> subprocess.CompletedProcess:
    """A benchmark script run to its end (failing the test, with its stderr, if it fails)."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        (
            "trainable_throughput.py",
            # 10 classes and 5% val/test splits: 240 images give each split one a class.
            ["--samples", "240", "--epochs", "2", "--rounds", "1", "--image-size", "16"],
            "ratio train()/bare = ",
        ),
        ("transfer_learning.py", ["--image-size", "8", "--epochs", "1"], "weights=none"),
        ("search_overhead.py", ["--trials", "2"], "hpsearch"),
        (
            "search_quality.py",
            [TINY_STUDY, "--seeds", "1", "--top-k", "2", "--repeats", "1"],
            "| race top 2 x 1 | ",
        ),
        (
            "model_choice.py",
            [TINY_BACKBONES, "--seeds", "1", "--timing-seconds", "0.2"],
            "| efficientnet_lite1 | ",
        ),
        (
            "imbalance.py",
            ["--minority", "10", "--trials", "2", "--epochs", "1"],
            "| undersample | ",
        ),
    ],
)
def test_benchmark_runs(script: str, arguments: list[str], expected: str, tmp_path) -> None:
    """...and writes its raw results with the command that made them."""
    import json

    out = tmp_path / "raw.json"
    done = _ran(script, *arguments, "--out", str(out))
    assert expected in done.stdout
    record = json.loads(out.read_text())
    assert record["command"].startswith(f"python benchmarks/{script} ")
    assert record["rows"] and "finished" in record and record["machine"]["cpus"] >= 1


def test_gpu_throughput_runs_tiny_anywhere(tmp_path: Path) -> None:
    """On a CPU: the bare loop, train(), augmentation, two trials at once through run_study,
    and what auto decides (no GPU: trials on CPUs)."""
    import json

    out = tmp_path / "tiny.json"
    done = _ran("gpu_throughput.py", "--tiny", "--out", str(out))
    assert "ratio train()/bare = " in done.stdout and "ratio augment/none = " in done.stdout
    result = json.loads(out.read_text())["rows"]["workloads"]["lite0_16"]
    assert set(result["packed"]) == {"1", "2"}
    assert all(p["trials"] == int(n) for n, p in result["packed"].items())
    assert result["auto"]["line"].startswith("resources: gpus_per_trial auto -> 0: ")


def test_photo_crops_are_four_classes_a_study_can_read(tmp_path: Path) -> None:
    from trainable import ImageFolderData, prepare

    crops = benchmark_module("photo_crops")
    root = crops.make(tmp_path / "crops", per_class=12)
    splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=32))
    assert (
        list(splits.classes) == sorted(crops.REGIONS)
        and len(splits.train) + len(splits.val) + len(splits.test) == 4 * 12
    )


def test_photo_tags_are_a_tags_csv_a_multilabel_study_can_read(tmp_path: Path) -> None:
    from trainable import MultiLabelData, prepare

    tags = benchmark_module("photo_tags")
    root = tags.make(tmp_path / "tags", crops=120)
    data = MultiLabelData(
        source="multilabel", root=root / "images", labels=root / "labels.csv", image_size=32
    )
    splits = prepare(data)
    assert sorted(splits.classes) == sorted(tags.TAGS) and splits.multilabel
    counts = splits.train.labels.sum(1)
    assert counts.min() >= 1 and (counts >= 2).any()  # every crop tagged, some twice


def test_shapes_are_five_classes_a_study_can_read(tmp_path: Path) -> None:
    from trainable import ImageFolderData, prepare

    shapes = benchmark_module("shapes")
    root = shapes.make(tmp_path / "shapes", per_class=8)
    splits = prepare(ImageFolderData(source="imagefolder", root=root, image_size=32))
    assert list(splits.classes) == sorted(shapes.CLASSES)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 5 * 8


def test_warm_start_benchmark_runs_tiny(tmp_path: Path) -> None:
    """Two tiny tasks, each warm-started from the other, beside cold, portfolio and Ray."""
    done = _ran(
        "warm_start.py",
        *("--seeds", "1", "--trials", "2", "--tasks", "digits,shapes", "--tiny", str(tmp_path)),
    )
    for arm in ("cold", "portfolio", "warm (other tasks)", "ray asha"):
        assert f"| {arm} | " in done.stdout
    assert "the first three trials were better than cold ones in " in done.stdout
    assert (tmp_path / "warm_start.json").is_file()  # not the repository's figures


def test_recipe_benchmark_runs_tiny(tmp_path: Path) -> None:
    """Every lever at once on one tiny task: that it runs and writes its results."""
    done = _ran(
        "recipe.py",
        *("--seeds", "1", "--trials", "2", "--tasks", "digits", "--arms", "together"),
        *("--tiny", str(tmp_path)),
    )
    assert "| together | " in done.stdout and (tmp_path / "recipe.json").is_file()
