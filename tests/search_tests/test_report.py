"""report.html and the dashboard server, without a browser (the browser tests look at them)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from search.cli import app
from search.report.dashboard import DashboardError, beside
from search.report.page import fit_diagnosis

pytestmark = pytest.mark.slow


def embedded_images(page: str) -> list[str]:
    return re.findall(r"<img alt='([^']*)' src='data:image/png;base64,[A-Za-z0-9+/=]{100,}'>", page)


def test_report_holds_every_section_with_images_embedded(finished) -> None:
    result, _, lines = finished
    page = (result.run_dir / "report.html").read_text()
    assert any(line == f"report: {result.run_dir / 'report.html'}" for line in lines)
    assert embedded_images(page) == [
        "Optimization history",
        "Hyperparameter importances",
        "Parameters against the value",
        "Validation curves of every trial",
        "The best configuration: training against validation",
        "Test split: confusion matrix",
    ]
    assert "http" not in page.replace("http-equiv", "")  # self-contained: nothing to fetch
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert f"#{summary['best_trial']}: val_loss {summary['best_value']:.4f}" in page
    assert "pruning saved" in page and f"accuracy {summary['test']['accuracy']:.4f}" in page
    for name in ("class_0", "class_1", "class_2"):
        assert f"<td>{name}</td>" in page


def test_report_command_rewrites_it(finished, tmp_path) -> None:
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(finished[0].run_dir, run_dir)
    (run_dir / "report.html").unlink()
    shown = CliRunner().invoke(app, ["report", str(run_dir)])
    assert shown.exit_code == 0 and shown.output.strip() == str(run_dir / "report.html")
    assert len(embedded_images((run_dir / "report.html").read_text())) == 6


def test_a_failed_search_still_gets_a_report_with_the_reasons(ray_session, tmp_path) -> None:
    from search.errors import SearchFailed
    from search.run import run_study
    from search.study.spec import parse_study_spec
    from tests.search_tests.conftest import tiny_study

    raw = tiny_study(
        space={"lr": {"type": "float", "low": 50.0, "high": 100.0}},
        fixed={"optimizer": "sgd", "schedule": "constant", "epochs": 1, "batch_size": 4},
        search={"trials": 3, "concurrency": 1, "max_failed_trials": 0},
    )
    with pytest.raises(SearchFailed):
        run_study(parse_study_spec(raw), tmp_path / "run", echo=lambda line: None)
    page = (tmp_path / "run" / "report.html").read_text()
    assert "<h2>Failed trials</h2>" in page and "DivergedError" in page
    assert "not evaluated yet" in page


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (
            [
                {
                    "epoch": 1,
                    "train_loss": 1.0,
                    "val_loss": 0.5,
                    "train_accuracy": 0.7,
                    "val_accuracy": 0.8,
                },
                {
                    "epoch": 2,
                    "train_loss": 0.4,
                    "val_loss": 0.3,
                    "train_accuracy": 0.9,
                    "val_accuracy": 0.9,
                },
            ],
            "No sign of overfitting",
        ),
        (
            [
                {"epoch": 1, "train_loss": 0.5, "val_loss": 0.3},
                {"epoch": 2, "train_loss": 0.2, "val_loss": 0.31},
                {"epoch": 3, "train_loss": 0.05, "val_loss": 0.45},
            ],
            "Overfitting: validation loss was lowest at epoch 1 (0.3000) and rose to 0.4500",
        ),
        (
            [
                {
                    "epoch": 1,
                    "train_loss": 0.1,
                    "val_loss": 0.3,
                    "train_accuracy": 0.99,
                    "val_accuracy": 0.8,
                }
            ],
            "Overfitting gap: training accuracy 0.990",
        ),
        (
            [
                {
                    "epoch": 1,
                    "train_loss": 2.0,
                    "val_loss": 2.1,
                    "train_accuracy": 0.3,
                    "val_accuracy": 0.3,
                }
            ],
            "Underfitting",
        ),
        ([], "No per-epoch curves"),
    ],
)
def test_fit_diagnosis(history: list[dict], expected: str) -> None:
    assert expected in fit_diagnosis(history)


def test_dashboard_beside_serves_the_study(finished) -> None:
    result, _, _ = finished
    url = f"sqlite:///{result.run_dir / 'optuna.db'}"
    with beside(url, "127.0.0.1", 0) as address:
        assert address.startswith("http://127.0.0.1:") and address.endswith("/dashboard/")
        root = address.removesuffix("dashboard/")
        studies = json.load(urllib.request.urlopen(root + "api/studies", timeout=10))
        assert [s["study_name"] for s in studies["study_summaries"]] == ["tiny"]
        page = urllib.request.urlopen(address, timeout=10).read().decode()
        assert "<script" in page


def test_dashboard_on_a_busy_port_says_so(finished) -> None:
    url = f"sqlite:///{finished[0].run_dir / 'optuna.db'}"
    with beside(url, "127.0.0.1", 0) as address:
        port = int(address.split(":")[2].split("/")[0])
        with (
            pytest.raises(DashboardError, match=f"cannot listen on 127.0.0.1:{port}.*--port"),
            beside(url, "127.0.0.1", port),
        ):
            pass


def test_dashboard_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    shown = CliRunner().invoke(app, ["dashboard", str(tmp_path)])
    assert shown.exit_code == 2 and "is not a run directory" in shown.stderr
