"""Serve optuna-dashboard on a run's Optuna storage."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from search.errors import RunDirError

if TYPE_CHECKING:
    from search.spec import StudySpec


def run_spec(run_dir: Path) -> StudySpec:
    """The resolved study a run directory was made from (its study.yaml)."""
    from search.spec import parse_study_spec

    study_file = run_dir / "study.yaml"
    if not study_file.is_file():
        raise RunDirError(
            f"{run_dir} is not a run directory (no study.yaml); give the folder `hpsearch run` "
            "made, runs/<study name> by default"
        )
    return parse_study_spec(yaml.safe_load(study_file.read_text()), source=str(study_file))


def run_storage(run_dir: Path) -> tuple[str, str]:
    """(storage URL, study name) of a run directory."""
    from search.storage import storage_url

    spec = run_spec(run_dir)
    return storage_url(spec, run_dir), spec.name


def serve(run_dir: Path, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Blocks, serving the dashboard until interrupted."""
    from optuna_dashboard import run_server

    from search.storage import open_storage

    url, _ = run_storage(run_dir)
    run_server(open_storage(url), host=host, port=port)
