"""One hpsearch run per run directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from search.errors import RunDirError
from search.rundir.layout import RunDir
from search.rundir.lock import RunLock


def test_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with RunLock(RunDir(tmp_path / "run")), pytest.raises(RunDirError) as exc:
        RunLock(RunDir(tmp_path / "run")).__enter__()
    assert f"pid {os.getpid()}" in str(exc.value) and "in use by another hpsearch run" in str(
        exc.value
    )


def test_lock_is_released_on_exit_and_when_the_holder_is_killed(tmp_path: Path) -> None:
    with RunLock(RunDir(tmp_path / "run")):
        (tmp_path / "run" / "work").write_text("x")
    with RunLock(RunDir(tmp_path / "run")):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path\n"
                "from search.rundir.layout import RunDir\n"
                "from search.rundir.lock import RunLock\n"
                f"lock = RunLock(RunDir(Path({str(tmp_path / 'run')!r}))).__enter__()\n"
                "print('held', flush=True)\n"
                "time.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunDirError, match=f"pid {holder.pid}"):
        RunLock(RunDir(tmp_path / "run")).__enter__()
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with RunLock(RunDir(tmp_path / "run")):  # the kernel released it: no stale lock
        pass


def test_a_directory_the_lock_made_for_nothing_is_removed(tmp_path: Path) -> None:
    with pytest.raises(ValueError), RunLock(RunDir(tmp_path / "new")):
        raise ValueError("bad input")
    assert not (tmp_path / "new").exists()
