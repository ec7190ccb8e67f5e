"""One `hpsearch run` per run directory: an exclusive lock the OS releases if the holder dies.

`fcntl.flock` is released by the kernel when the process exits, SIGKILL included, so a crashed
run never leaves a stale lock. The lock file records who holds it, for the refusal message.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from search.errors import RunDirError
from search.rundir.layout import RUN_LOG, RunDir


class RunLock:
    """`with RunLock(run):` creates the directory if needed and holds it exclusively.

    A directory this lock created and nothing else filled but its run.log (the run stopped on
    a bad input, which the terminal showed) is removed again on exit: a mistake leaves no trace.
    """

    def __init__(self, run: RunDir) -> None:
        self.run_dir = run.path
        self.path = run.lock
        self.created = False
        self._file: IO[str] | None = None

    def __enter__(self) -> RunLock:
        self.created = not self.run_dir.exists()
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+")
        except OSError as exc:
            raise RunDirError(_unusable(self.run_dir, exc)) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe(handle.read())
            handle.close()
            raise RunDirError(
                f"{self.run_dir} is in use by another hpsearch run ({holder}); wait for it to "
                "finish or stop it, then run again (it will resume)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "command": " ".join(sys.argv),
                }
            )
        )
        handle.flush()
        self._file = handle
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        handle = self._file
        if handle is None:
            return
        handle.truncate(0)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
        self._file = None
        left = {p.name for p in self.run_dir.iterdir()}
        if self.created and left <= {self.path.name, RUN_LOG}:
            for name in left:
                (self.run_dir / name).unlink()
            self.run_dir.rmdir()


def held_by(run: RunDir) -> str | None:
    """Who runs `run` now (pid, host, since, command), or None where no hpsearch run does."""
    if not run.lock.is_file():  # never run, or not a run directory
        return None
    with open(run.lock) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(handle.read())
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _unusable(run_dir: Path, exc: OSError) -> str:
    """Why a run directory cannot be made or written, in one line."""
    file = next((parent for parent in run_dir.parents if parent.is_file()), None)
    if run_dir.is_file():
        why = "is a file"
    elif file is not None:
        why = f"lies under {file}, which is a file"
    else:
        why = f"cannot be written ({exc.strerror or exc})"
    return f"run directory {run_dir} {why}; give --run-dir a folder you can write to"


def _describe(text: str) -> str:
    try:
        info = json.loads(text)
    except ValueError:
        return "its process is not recorded"
    return f"pid {info['pid']} on {info['host']}, since {info['since']}: {info['command']}"
