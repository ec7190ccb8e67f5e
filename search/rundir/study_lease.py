"""One driver per study, enforced in the storage every driver shares.

Two `hpsearch run` processes on one study (two machines, each with its own run directory, one
database) would each tell the other's running trials FAIL as left over from a dead search. So
a run holds a lease on its study: a row in the table `hpsearch_study_drivers`, beside Optuna's
tables (which stay a plain Optuna storage), refreshed every `grace / 4` seconds.

- A second driver is refused in one line naming the holder: host, pid, run directory, since.
- A holder silent for `grace` seconds (its machine lost, its process frozen) is taken over.
- A holder on this machine whose process is gone (kill -9) is taken over at once.

Every time is the database server's clock, so drivers on machines whose clocks disagree still
agree on how long a holder has been silent. Claims are compare-and-set on the holder's token:
of two drivers taking over at once, one wins. `HPSEARCH_LEASE_SECONDS` sets the grace (60 s).
"""

from __future__ import annotations

import functools
import os
import socket
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from search.echo import Echo
from search.errors import StorageError, StudyInUse, first_line
from search.rundir.storage import expanded, server_engine_kwargs
from search.urls import masked

if TYPE_CHECKING:
    import sqlalchemy

GRACE_VARIABLE = "HPSEARCH_LEASE_SECONDS"
DEFAULT_GRACE_S = 60.0
TABLE = "hpsearch_study_drivers"
LOST_EXIT_STATUS = 75  # EX_TEMPFAIL: the study goes on, in another run


def grace_seconds() -> float:
    text = os.environ.get(GRACE_VARIABLE, "")
    try:
        return float(text) if text else DEFAULT_GRACE_S
    except ValueError:
        raise StudyInUse(f"{GRACE_VARIABLE} must be a number of seconds, got {text!r}") from None


@dataclass(frozen=True)
class Holder:
    token: str
    host: str
    pid: int
    run_dir: str
    since: float  # database clock, seconds since the epoch
    heard: float

    def describe(self, now: float) -> str:
        since = datetime.fromtimestamp(self.since).strftime("%Y-%m-%d %H:%M:%S")
        return (
            f"pid {self.pid} on {self.host} (run directory {self.run_dir}) since {since}, "
            f"last heard {now - self.heard:.0f} s ago"
        )

    def record(self, now: float) -> dict[str, Any]:
        """The holder as `hpsearch status --json` gives it (times in ISO 8601, with the zone)."""
        return {
            "pid": self.pid,
            "host": self.host,
            "run_dir": self.run_dir,
            "since": datetime.fromtimestamp(self.since).astimezone().isoformat(timespec="seconds"),
            "last_heard_seconds_ago": round(now - self.heard, 1),
        }

    def gone(self, now: float, grace: float) -> bool:
        """Silent for longer than the grace, or a process of this machine that has ended."""
        return now - self.heard > grace or (
            self.host == socket.gethostname() and not _alive(self.pid)
        )


class StudyLease:
    """`with StudyLease(url, study, run_dir):` holds the study for this process."""

    def __init__(
        self,
        url: str,
        study: str,
        run_dir: Path,
        *,
        echo: Echo = print,
        grace: float | None = None,
    ) -> None:
        self.url, self.study, self.run_dir, self.echo = url, study, run_dir, echo
        self.grace = grace_seconds() if grace is None else grace
        self.token = uuid.uuid4().hex
        self._engine: sqlalchemy.Engine | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> StudyLease:
        import sqlalchemy

        self._engine = _engine(self.url)
        try:
            _create_table(self._engine)
            self._claim()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            self._engine.dispose()
            first = first_line(exc)
            raise StorageError(
                f"storage {masked(self.url)}: cannot hold the study in table {TABLE} "
                f"({type(exc).__name__}: {first}); the user needs CREATE, INSERT and UPDATE "
                "on the database"
            ) from None
        except BaseException:
            self._engine.dispose()
            raise
        self._beat = threading.Thread(target=self._heartbeat, name="study-lease", daemon=True)
        self._beat.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=10)
        assert self._engine is not None
        table = _table()
        try:
            with self._engine.begin() as db:
                db.execute(
                    table.delete().where(table.c.study == self.study, table.c.token == self.token)
                )
        except Exception:  # the server is gone: the lease expires by itself after the grace
            pass
        self._engine.dispose()

    def _claim(self) -> None:
        import sqlalchemy

        assert self._engine is not None
        table = _table()
        for _ in range(5):  # each round either claims or sees another driver's move
            with self._engine.begin() as db:
                now = _now(db)
                holder = _holder(db, self.study)
                mine = {
                    "token": self.token,
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "run_dir": str(self.run_dir.resolve()),
                    "since": now,
                    "heard": now,
                }
                if holder is None:
                    try:
                        with db.begin_nested():  # a savepoint: a lost race leaves db usable
                            db.execute(table.insert().values(study=self.study, **mine))
                        return
                    except sqlalchemy.exc.IntegrityError:
                        continue  # another driver inserted first: look again
                if not holder.gone(now, self.grace):
                    raise StudyInUse(
                        f"study {self.study} is driven by another hpsearch run: "
                        f"{holder.describe(now)}; stop that run first, or wait: a driver "
                        f"silent for {self.grace:.0f} s is taken over ({GRACE_VARIABLE})"
                    )
                taken = db.execute(
                    table.update()
                    .where(table.c.study == self.study, table.c.token == holder.token)
                    .values(**mine)
                )
                if taken.rowcount == 1:
                    self.echo(
                        f"study {self.study}: taking over from {holder.describe(now)}; "
                        "its finished trials are kept"
                    )
                    return
        raise StudyInUse(f"study {self.study}: drivers keep claiming it at once; run again")

    def _heartbeat(self) -> None:
        table = _table()
        assert self._engine is not None
        while not self._stop.wait(self.grace / 4):
            try:
                with self._engine.begin() as db:
                    beat = db.execute(
                        table.update()
                        .where(table.c.study == self.study, table.c.token == self.token)
                        .values(heard=_now(db))
                    )
            except Exception:  # a blip of the server: the next beat tries again
                continue
            if beat.rowcount == 0:
                self._lost()
                return

    def _lost(self) -> None:
        """Another run took the study over while this one was silent (frozen, cut off). It
        has told this run's trials FAIL and runs its own: this process must not touch the
        study again (a clean stop would tell the new run's trials FAIL), so it ends now."""
        sys.stdout.flush()
        sys.stderr.write(
            f"error: study {self.study}: another hpsearch run took it over while this run was "
            f"silent for over {self.grace:.0f} s; stopping without touching the study\n"
        )
        sys.stderr.flush()
        os._exit(LOST_EXIT_STATUS)


def current_holder(url: str, study: str) -> Holder | None:
    """Who drives `study` now, if anyone (for status and tests)."""
    engine = _engine(url)
    try:
        _create_table(engine)
        with engine.connect() as db:
            return _holder(db, study)
    finally:
        engine.dispose()


@functools.cache
def _table() -> sqlalchemy.Table:
    import sqlalchemy as sa

    return sa.Table(
        TABLE,
        sa.MetaData(),
        sa.Column("study", sa.String(512), primary_key=True),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("run_dir", sa.Text, nullable=False),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("heard", sa.Float, nullable=False),
    )


def _engine(url: str) -> sqlalchemy.Engine:
    import sqlalchemy

    url = expanded(url)
    if url.startswith("sqlite"):
        return sqlalchemy.create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=True)
    return sqlalchemy.create_engine(url, pool_pre_ping=True, **server_engine_kwargs(url))


def _create_table(engine: sqlalchemy.Engine) -> None:
    import sqlalchemy

    try:
        _table().metadata.create_all(engine, checkfirst=True)
    except sqlalchemy.exc.DBAPIError:  # another driver created it between check and create
        _table().metadata.create_all(engine, checkfirst=True)


def _holder(db: sqlalchemy.Connection, study: str) -> Holder | None:
    table = _table()
    row = db.execute(table.select().where(table.c.study == study)).first()
    if row is None:
        return None
    return Holder(row.token, row.host, row.pid, row.run_dir, row.since, row.heard)


def _now(db: sqlalchemy.Connection) -> float:
    """The database server's clock: PostgreSQL's now() is aware, SQLite's is naive UTC."""
    import sqlalchemy

    value = db.execute(sqlalchemy.select(sqlalchemy.func.current_timestamp())).scalar_one()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
