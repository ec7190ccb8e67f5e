"""Which backbone: three EfficientNet-Lite sizes searched, offline, with their ImageNet weights,
against what they cost to serve; the refit bounded by search.constraints; any trial refitted
later; model.onnx checked."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from optuna.trial import TrialState

from search import load_best
from search.errors import StudySpecError
from search.run import run_study
from search.rundir.layout import RunDir
from search.rundir.resume import load_run_study
from search.study.spec import parse_study_spec
from tests.search_tests.drivers import run
from tests.search_tests.helpers import tiny_study

pytestmark = pytest.mark.slow
LITES = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]


def three_lites(**search) -> dict:
    raw = tiny_study(
        space={
            "backbone": {"type": "categorical", "choices": LITES},
            "lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
        },
        fixed={"epochs": 1, "batch_size": 16},
        search={"trials": 4, "concurrency": 2, "sampler": "random", **search},
    )
    raw["model"] = {"weights": "imagenet"}  # the backbone is named in space: alone
    return raw


@pytest.fixture(scope="module")
def lite0_only(ray_session, tmp_path_factory):
    """At most 4.5 M parameters with a 3-class head: Lite0 (3.4 M) and Lite1 (4.2 M), not
    Lite2 (4.9 M); six random trials train both, so the front is one of two backbones."""
    spec = parse_study_spec(three_lites(constraints={"params_m": 4.5}, trials=6))
    lines: list[str] = []
    result = run_study(spec, tmp_path_factory.mktemp("choice") / "run", echo=lines.append)
    return result, spec, lines


def test_a_constraint_trains_only_the_backbones_it_allows(lite0_only) -> None:
    result, _, lines = lite0_only
    _, study = load_run_study(RunDir(result.run_dir))
    measured = [line for line in lines if line.startswith("serving cost: ")]
    assert [line.split()[2] for line in measured] == LITES  # each measured once, named
    trained = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(trained) == 6 and {t.params["backbone"] for t in trained} == set(LITES[:2])
    skipped = [t for t in study.trials if "infeasible" in t.user_attrs]
    assert all(not t.intermediate_values for t in skipped)  # never trained
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert load_best(result.run_dir).config.backbone in LITES[:2]
    assert summary["serving"]["params_m"] <= 4.5
    assert summary["trials"].get("INFEASIBLE", 0) == len(skipped)
    table = pd.read_csv(result.run_dir / "trials.csv")
    assert set(table.state) <= {"COMPLETE", "INFEASIBLE"} and (table.params_m > 0).all()


def test_model_onnx_scores_as_the_pytorch_model_fed_raw_images(lite0_only) -> None:
    result, _, _ = lite0_only
    checked = json.loads((result.run_dir / "summary.json").read_text())["onnx"]
    assert checked["top1_agreement"] == 1.0
    assert abs(checked["accuracy"] - checked["torch_accuracy"]) <= 0.001  # within 0.1 pt


def test_the_report_and_best_front_show_the_front_and_the_refitted_trial(lite0_only) -> None:
    result, _, _ = lite0_only
    page = (result.run_dir / "report.html").read_text()
    assert "Accuracy against serving cost" in page and "(refitted)" in page
    assert (result.run_dir / "plots" / "front.png").is_file()
    shown = run("best", str(result.run_dir), "--front", seconds=120)
    assert shown.returncode == 0, shown.stderr
    head, *rows = shown.stdout.splitlines()
    assert head.split() == [
        "trial",
        "backbone",
        "val_loss",
        "latency_ms",
        "throughput",
        "params_m",
        "macs_g",
    ]
    # The front, worked out here from trials.csv: no other trial as fast and better.
    table = pd.read_csv(result.run_dir / "trials.csv")
    done = table[table.state == "COMPLETE"]
    front = sorted(
        int(t.number)
        for t in done.itertuples()
        if not any(
            o.number != t.number and o.latency_ms <= t.latency_ms and o.val_loss < t.val_loss
            for o in done.itertuples()
        )
    )
    shown_numbers = sorted(int(row.split()[0]) for row in rows)
    assert shown_numbers == front and len(set(done.backbone)) == 2
    assert any("(refitted)" in row for row in rows)


def test_any_trial_refits_later_into_its_own_folder(lite0_only) -> None:
    result, _, _ = lite0_only
    _, study = load_run_study(RunDir(result.run_dir))
    best = json.loads((result.run_dir / "summary.json").read_text())["best_trial"]
    other = next(
        t.number for t in study.trials if t.state == TrialState.COMPLETE and t.number != best
    )
    before = hashlib.sha256((result.run_dir / "model.pt").read_bytes()).hexdigest()
    done = run("refit", str(result.run_dir), "--trial", str(other), seconds=300)
    assert done.returncode == 0, done.stderr
    folder = result.run_dir / "refits" / f"trial-{other}"
    assert f"run directory: {folder}" in done.stdout
    assert f"refitted: trial {other}, val_loss " in done.stdout and "best: " not in done.stdout
    again = load_best(folder)
    assert again.trial_number == other and (folder / "model.onnx").is_file()
    assert hashlib.sha256((result.run_dir / "model.pt").read_bytes()).hexdigest() == before
    twice = run("refit", str(result.run_dir), "--trial", str(other), seconds=300)
    assert f"trial {other} is refitted already: {folder}" in twice.stdout
    missing = run("refit", str(result.run_dir), "--trial", "999", seconds=120)
    assert missing.returncode == 2 and "--trial 999: study tiny has trials 0 to" in missing.stderr


def test_a_constraint_no_backbone_meets_is_one_line_before_any_trial(ray_session, tmp_path) -> None:
    spec = parse_study_spec(three_lites(constraints={"params_m": 1.0, "latency_ms": 500}))
    with pytest.raises(StudySpecError) as exc:
        run_study(spec, tmp_path / "run", echo=lambda line: None)
    line = str(exc.value)
    assert line.startswith("search.constraints (latency_ms 500, params_m 1) are met by no backbone")
    assert "efficientnet_lite2: params_m 4.8" in line and "\n" not in line
    _, study = load_run_study(RunDir(tmp_path / "run"))
    assert study.trials == []  # measured, refused: nothing trained
