"""The dashboard server, without a browser."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from search.cli import app
from search.report.dashboard import DashboardError, beside


@pytest.mark.slow  # needs the finished run
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


@pytest.mark.slow  # needs the finished run
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
