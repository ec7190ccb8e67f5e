"""run.log: what `hpsearch run` printed, kept in the run directory, each run after the last."""

from __future__ import annotations

import datetime
import os
import threading
from pathlib import Path
from typing import TextIO

from search.echo import Echo
from search.errors import HPSearchError


class RunLog:
    """Lines appended to `path` while open (a context manager); closed, it writes nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None
        self._lock = threading.Lock()  # Ray's loop and the refit's wait both print

    def __enter__(self) -> RunLog:
        self._file = self.path.open("a", buffering=1, encoding="utf-8")
        when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self.write(f"--- hpsearch run, {when}, pid {os.getpid()} ---")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: object, *rest: object) -> None:
        if isinstance(error, HPSearchError):  # the one line a failed run ends with
            self.write(f"error: {error}")
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def write(self, line: str) -> None:
        with self._lock:
            if self._file is not None:
                self._file.write(line.rstrip("\n") + "\n")

    def tee(self, echo: Echo | None) -> Echo:
        """`echo` that also keeps each line here; None: here alone (--quiet)."""

        def both(line: str) -> None:
            self.write(line)
            if echo is not None:
                echo(line)

        return both


def append_to_log(run_dir: Path, lines: list[str]) -> None:
    """A command's closing lines, after its run ended (the CLI's summary)."""
    with (run_dir / "run.log").open("a", encoding="utf-8") as log:
        log.writelines(line + "\n" for line in lines)


__all__ = ["RunLog", "append_to_log"]
