"""The multi-label example (studies/photo_tags.yaml) searched end to end on its offline data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from search import load_best
from search.study.spec import load_study_spec, parse_study_spec
from search.trials.curves import records_of
from tests.search_tests.helpers import benchmark_module

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def photo_tags(ray_session, tmp_path_factory):
    """The example study, as the README runs it, on 300 crops and 6 trials: (result, spec)."""
    from search.run import run_study

    folder = tmp_path_factory.mktemp("data") / "photo_tags"
    data = benchmark_module("photo_tags").make(folder, crops=300)
    raw = yaml.safe_load((ROOT / "studies" / "photo_tags.yaml").read_text())
    raw["data"] |= {"root": str(data / "images"), "labels": str(data / "labels.csv")}
    raw["search"] |= {"trials": 6}
    raw["space"]["epochs"]["high"] = 3
    spec = parse_study_spec(raw)
    lines: list[str] = []
    result = run_study(spec, tmp_path_factory.mktemp("runs") / "tags", echo=lines.append)
    return result, spec, lines


def test_the_example_study_loads_with_the_tag_metric() -> None:
    spec = load_study_spec(ROOT / "studies" / "photo_tags.yaml")
    assert spec.multilabel and spec.search.metric == "val_fbeta"
    assert spec.search.direction == "max" and not spec.data.flip_vertical


def test_the_search_beats_the_best_constant_answer_clearly(photo_tags) -> None:
    result, _, lines = photo_tags
    test = json.loads((result.run_dir / "test_metrics.json").read_text())
    assert test["kind"] == "multilabel" and test["beta"] == 2.0
    assert test["fbeta"] > test["constant"]["fbeta"] + 0.1
    assert test["accuracy_thresh"] > test["constant"]["accuracy_thresh"] + 0.1
    assert result.summary.test.fbeta == pytest.approx(test["fbeta"])
    assert any(line.startswith("data: ") and "5 tags" in line for line in lines)


def test_the_refit_threshold_was_chosen_on_validation(photo_tags) -> None:
    result, _, lines = photo_tags
    best = load_best(result.run_dir)
    assert best.multilabel and best.threshold == result.summary.test.threshold
    assert json.loads((result.run_dir / "summary.json").read_text())["multilabel"] is True
    refit_line = next(line for line in lines if line.startswith("refit: threshold"))
    assert f"trial {best.trial_number}'s validation F2" in refit_line
    # Where the best trial's validation F2 peaked, at the epoch the refit replays.
    storage = f"sqlite:///{result.run_dir}/optuna.db"
    trial = optuna.load_study(study_name="photo-tags", storage=storage).trials[best.trial_number]
    record = next(r for r in records_of(trial) if r["epoch"] == best.config.epochs)
    assert best.threshold == record["val_best_threshold"]
    # The dashboard's trial view shows each tag's validation scores at that epoch.
    tags = trial.user_attrs["val_per_tag"]
    assert set(tags) == set(best.classes)
    assert all(set(s) == {"precision", "recall"} for s in tags.values())
    assert 0 < tags["sky"]["recall"] <= 1
    # The test is also scored at the trial's own threshold.
    at = json.loads((result.run_dir / "test_metrics.json").read_text())["at_thresholds"]
    assert f"{trial.params['threshold']:g}" in at


def test_load_best_predicts_tag_sets_that_score_as_the_test_did(photo_tags) -> None:
    from trainable import prepare
    from trainable.metrics import fbeta_samples

    result, spec, _ = photo_tags
    best = load_best(result.run_dir)
    splits = prepare(spec.data)
    predicted = best.predict(splits.test.images.tensor)
    assert all(isinstance(p, set) and p <= set(best.classes) for p in predicted)
    assert any(len(p) >= 2 for p in predicted)
    rows = torch.tensor([[t in p for t in best.classes] for p in predicted])
    score = fbeta_samples(rows, splits.test.labels.bool(), 2.0).mean().item()
    assert score == pytest.approx(best.test_metrics["fbeta"], abs=1e-4)
    # Image files work too, resized as in training.
    paths = sorted((Path(spec.data.root)).glob("*.jpg"))[:3]
    assert len(best.predict(paths)) == 3


def test_the_report_shows_per_tag_scores_not_a_confusion_matrix(photo_tags) -> None:
    result, _, _ = photo_tags
    page = (result.run_dir / "report.html").read_text()
    assert "Test split: scores per tag" in page and "confusion matrix" not in page
    assert "The best constant answer" in page
    for tag in ("sky", "water", "pagoda", "greenery", "flower"):
        assert f"<td>{tag}</td>" in page
    assert (result.run_dir / "plots" / "tag_scores.png").is_file()
    with (result.run_dir / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert "val_fbeta" in rows[0] and "threshold" in rows[0]
