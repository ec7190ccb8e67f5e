"""Opening a study's Optuna storage: any RDB URL, and SQLite tuned for a live dashboard."""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

import optuna

from search.deadlines import VARIABLE, connect_seconds
from search.errors import StorageError, first_line
from search.urls import masked


def expanded(url: str, field: str = "storage") -> str:
    """`${NAME}` in a URL (the storage, the tracking server) read from the environment, so a
    password never sits in the study file, nor in the run directory's copy of it (which keeps
    `${NAME}` as written)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise StorageError(
                f"{field}: ${{{name}}} is not set in the environment; export {name}, or write "
                "its value in the study file"
            )
        return os.environ[name]

    return re.sub(r"\$\{(\w+)\}", value, url)


SQLITE_WAIT_S = 30.0  # how long a SQLite write waits for another process's lock


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """Open (and for SQLite, create) the storage; unreachable or malformed URLs are one line.
    `${NAME}` in the URL is read from the environment."""

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    raw, url = url, expanded(url)
    problem = malformed(url)
    if problem is not None:
        raise StorageError(
            f"storage {masked(raw)} is not a valid database URL ({problem}); write it as "
            "dialect://user:password@host:port/database, e.g. postgresql://me@db:5432/studies"
        )
    try:
        if url.startswith("sqlite:///"):
            return _sqlite(url)
        storage = optuna.storages.RDBStorage(url, engine_kwargs=server_engine_kwargs(url))
        optuna.get_all_study_summaries(storage)  # a round trip: fail now, not mid-search
        return storage
    except StorageError:
        raise
    except Exception as exc:  # sqlalchemy and drivers raise many kinds; all mean the same here
        first = first_line(exc)
        if url.startswith("sqlite:///"):  # a file here, not a server
            raise StorageError(_sqlite_problem(url.removeprefix("sqlite:///"), exc)) from None
        raise StorageError(
            f"storage {masked(raw)} cannot be opened ({type(exc).__name__}: {first}); check the "
            f"URL, that the database server runs and the credentials (each connection waits "
            f"{connect_seconds():g} s: {VARIABLE})"
        ) from None


def _sqlite_problem(path: str, exc: Exception) -> str:
    """Why a SQLite file did not open, told apart: no permission, held by another process past
    the wait, damaged, or else what SQLite said."""
    said = f"{type(exc).__name__}: {first_line(exc)}"
    text = str(exc).lower()
    if (
        isinstance(exc, PermissionError)
        or "readonly database" in text
        or ("unable to open database file" in text and Path(path).exists())
    ):
        return (
            f"storage file {path} cannot be opened for writing ({said}); give your user write "
            "access to it and to its folder"
        )
    if "database is locked" in text:
        return (
            f"storage file {path} stayed locked by another process for {SQLITE_WAIT_S:g} s "
            f"({said}); a search, `hpsearch trials` or a dashboard may be writing to it: wait "
            "for it to finish, then run again"
        )
    if "not a database" in text or "malformed" in text:
        return (
            f"storage file {path} cannot be read as an Optuna storage ({said}); it is "
            "damaged: restore it from a backup, or move it aside and run again to start the "
            "study over"
        )
    return f"storage file {path} cannot be opened ({said})"


def server_engine_kwargs(url: str) -> dict[str, object]:
    """A database server that accepts the connection and never answers is given up on after
    HPSEARCH_CONNECT_SECONDS, not after the driver's minutes."""
    if url.startswith(("postgresql", "mysql")):
        return {"connect_args": {"connect_timeout": max(1, round(connect_seconds()))}}
    return {}


def _sqlite(url: str) -> optuna.storages.RDBStorage:
    """WAL journaling lets optuna-dashboard read while the search writes (no 'database is
    locked'), and synchronous=NORMAL makes each commit ~2x cheaper; both are safe for a
    single-machine file. The timeout waits out a reader instead of failing."""
    import sqlalchemy

    database = Path(url.removeprefix("sqlite:///"))
    if not database.parent.is_dir():  # made here, it would sit outside any run directory
        raise StorageError(
            f"storage {url}: its folder {database.parent} does not exist; create it, or leave "
            "storage: out to keep the study in the run directory"
        )
    # Opening creates Optuna's tables when they are missing; two processes doing that at once
    # (a run starting, `hpsearch trials` or the dashboard) collide, so they take turns.
    with open(database.with_name(database.name + ".lock"), "a") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        storage = optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": {"timeout": SQLITE_WAIT_S}}
        )

    @sqlalchemy.event.listens_for(storage.engine, "connect")
    def _pragmas(connection: object, record: object) -> None:
        cursor = connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")  # persistent in the file once set
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    storage.engine.dispose()  # the connection made before the listener existed
    return storage


def malformed(url: str) -> str | None:
    """What makes a storage URL unreadable before any connection (a port that is no number,
    no database kind), or None."""
    import sqlalchemy

    try:
        sqlalchemy.engine.make_url(url).port  # noqa: B018 - the port is parsed on access
    except (sqlalchemy.exc.ArgumentError, ValueError) as exc:
        return first_line(exc)
    return None


def check_reachable(url: str) -> None:
    """A round trip to an external storage before anything else starts (SQLite files are local)."""
    if not url.startswith("sqlite:///"):
        open_storage(url)
