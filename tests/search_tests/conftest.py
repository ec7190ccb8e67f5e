"""Fixtures of the search tests: study files, one Ray for the session, a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from search.study.spec import StudySpec, parse_study_spec
from tests.search_tests.helpers import tiny_study


@pytest.fixture
def tiny_spec() -> StudySpec:
    return parse_study_spec(tiny_study())


@pytest.fixture
def write_study(tmp_path: Path):
    def write(raw: dict[str, Any] | str, name: str = "study.yaml") -> Path:
        import yaml

        path = tmp_path / name
        path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw))
        return path

    return write


@pytest.fixture
def study_file(write_study) -> Path:
    """A study that real `hpsearch run` processes search in under a minute."""
    from tests.search_tests.drivers import process_study

    return write_study(process_study())


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the whole test run (tests each take a database)."""
    from tests.servers import PostgresServer

    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres, request) -> str:
    """A fresh database on the test run's PostgreSQL server, named after the test."""
    import re

    return postgres.database(re.sub(r"\W", "_", request.node.name)[:60].lower())


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for every test that searches in this process (ray.init takes ~4 s)."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def finished(ray_session, tmp_path_factory):
    """A finished tiny study: (RunResult, spec, progress lines). Tests must not change it."""
    from search.run import run_study

    # Two startup trials: the first two always complete, so importances can be computed.
    raw = tiny_study(
        search={"trials": 5, "concurrency": 2, "pruner": {"type": "median", "startup_trials": 2}}
    )
    spec = parse_study_spec(raw)
    lines: list[str] = []
    result = run_study(spec, tmp_path_factory.mktemp("runs") / "tiny", echo=lines.append)
    return result, spec, lines
