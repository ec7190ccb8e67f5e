"""Errors the search raises for things a user can fix. The CLI prints one line and exits 2."""

from __future__ import annotations

from trainable import TrainableError


class HPSearchError(Exception):
    """Base of the search's user-facing errors."""


class StudySpecError(HPSearchError):
    """The study file is malformed or asks for something impossible."""


class StorageError(HPSearchError):
    """The Optuna storage cannot be opened."""


class ClusterError(HPSearchError):
    """Ray cannot be started or reached."""


class StudyInUse(HPSearchError):
    """Another hpsearch run drives this study in the storage they share."""


class RunDirError(HPSearchError):
    """The run directory is missing, incomplete or in use."""


class SearchFailed(HPSearchError):
    """The search ended without a trial worth refitting (all failed, too many failures)."""


class SearchInterrupted(HPSearchError):
    """Ctrl-C or SIGTERM: finished trials are kept, running ones told FAIL; run again to resume."""


def first_line(exc: BaseException, default: str = "") -> str:
    """The first line of an exception's message (drivers and Ray write many), or `default`."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else default


# What the CLI answers with one line instead of a traceback.
USER_ERRORS: tuple[type[Exception], ...] = (HPSearchError, TrainableError)
