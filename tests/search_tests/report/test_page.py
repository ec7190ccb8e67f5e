"""report.html, without a browser (the browser tests look at it)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from search.cli import app

pytestmark = pytest.mark.slow


def embedded_images(page: str) -> list[str]:
    return re.findall(r"<img alt='([^']*)' src='data:image/png;base64,[A-Za-z0-9+/=]{100,}'>", page)


def test_report_holds_every_section_with_images_embedded(finished) -> None:
    result, _, lines = finished
    page = (result.run_dir / "report.html").read_text()
    assert any(line == f"report: {result.run_dir / 'report.html'}" for line in lines)
    assert embedded_images(page) == [
        "Optimization history",
        "The trials across their parameters",
        "Parameters against the value",
        "Validation curves of every trial",
        "Pruning",
        "The best configuration: training against validation",
        "Test split: confusion matrix",
    ]
    assert "http" not in page.replace("http-equiv", "")  # self-contained: nothing to fetch
    # Five trials, too few complete ones for importances to mean anything: said, not drawn.
    assert "Importances need at least 5 complete trials that differ; this study has" in page
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert f"#{summary['best_trial']}: val_loss {summary['best_value']:.4f}" in page
    assert (
        "an unpruned search of these trials would train; pruning saved" in page
        and f"accuracy {summary['test']['accuracy']:.4f}" in page
    )
    for name in ("class_0", "class_1", "class_2"):
        assert f"<td>{name}</td>" in page
    # One backbone, no bound on its cost: no front of accuracy against a single latency.
    assert "serving cost" not in page


def test_report_command_rewrites_it(finished, tmp_path) -> None:
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(finished[0].run_dir, run_dir)
    (run_dir / "report.html").unlink()
    shown = CliRunner().invoke(app, ["report", str(run_dir)])
    assert shown.exit_code == 0 and shown.output.strip() == str(run_dir / "report.html")
    assert len(embedded_images((run_dir / "report.html").read_text())) == 7


def test_a_failed_search_still_gets_a_report_with_the_reasons(ray_session, tmp_path) -> None:
    from search.errors import SearchFailed
    from search.run import run_study
    from search.study.spec import parse_study_spec
    from tests.search_tests.helpers import tiny_study

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
