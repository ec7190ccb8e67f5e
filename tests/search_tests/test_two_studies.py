"""Two studies searched at once on one machine, each its own `hpsearch run` and Ray; and a
refit whose Ray worker is killed, which is tried again as a trial would be."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.search_tests.drivers import process_study, start

pytestmark = pytest.mark.slow


def ancestors(pid: int) -> list[int]:
    """The process's parents, read from /proc."""
    found = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state: ppid
        found.append(pid)
    return found


def refit_worker_of(driver: int, seconds: float = 300) -> int:
    """The pid of the Ray worker running `driver`'s refit, once it trains."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "_Refitter.fit" in title and driver in ancestors(int(entry.name)):
                return int(entry.name)
        time.sleep(0.05)
    pytest.fail("the refit never started")


def test_two_studies_at_once_and_a_refit_whose_worker_dies(write_study, tmp_path) -> None:
    def study(name: str):
        return process_study(
            name=name,
            data={"samples": 400, "image_size": 32},
            fixed={"epochs": 3, "batch_size": 8},
            search={"trials": 2, "concurrency": 1, "pruner": "none"},
        )

    alpha = start(write_study(study("alpha"), "alpha.yaml"), tmp_path / "alpha")
    beta = start(write_study(study("beta"), "beta.yaml"), tmp_path / "beta")
    os.kill(refit_worker_of(alpha.pid), signal.SIGKILL)
    out_alpha, err_alpha = alpha.communicate(timeout=600)
    out_beta, err_beta = beta.communicate(timeout=600)
    assert alpha.returncode == 0, err_alpha[-2000:]
    assert beta.returncode == 0, err_beta[-2000:]
    died = [line for line in out_alpha.splitlines() if "its Ray worker died" in line]
    assert len(died) == 1 and died[0].endswith("trying again (2 of 2)"), died
    assert "test: accuracy" in out_alpha and "test: accuracy" in out_beta
    assert (tmp_path / "alpha" / "model.pt").is_file() and (
        tmp_path / "beta" / "model.pt"
    ).is_file()
