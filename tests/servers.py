"""Real servers for the tests: a PostgreSQL server, a Ray cluster of several nodes and an
MLflow tracking server.

Each is the program users run (Debian's postgresql, `ray start`, `mlflow server`), started in
temporary folders on free ports and stopped at the end; nothing here is a mock.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

RAY = str(Path(sys.executable).parent / "ray")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shell_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: none of the RAY_ variables that this test process's
    own Ray set (RAY_AUTH_MODE among them), which a user's `hpsearch run` does not have."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return {**env, **extra}


@contextlib.contextmanager
def listening(reply: bytes | None) -> Iterator[int]:
    """A port on loopback that accepts every connection and says `reply`, or nothing."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)
            if reply is not None:
                connection.sendall(reply)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        for connection in held:
            connection.close()


class PostgresServer:
    """`initdb` + `pg_ctl` in a temporary folder, listening on 127.0.0.1 at a free port.

    initdb refuses to run as root, so as root the server runs as the `postgres` user that
    Debian's package creates; as anyone else it runs as that user.
    """

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="hpsearch-postgres-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres")

    # A role that must give its password (every other connection is trusted): what a real
    # server asks of a study's storage URL.
    PASSWORD_ROLE = "guarded"
    PASSWORD = "s3cret-pw"

    def start(self) -> PostgresServer:
        data, log = self.folder / "data", self.folder / "server.log"
        self._run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        hba = data / "pg_hba.conf"  # rewritten in place: it keeps its owner
        rule = f"host all {self.PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.folder / "data", "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL (SQLAlchemy 2.1 drives it with psycopg)."""
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def guarded_database(self, name: str) -> str:
        """A new database owned by the role that needs its password; its URL without it."""
        import psycopg

        role, password = self.PASSWORD_ROLE, self.PASSWORD
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            if exists.fetchone() is None:
                connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            connection.execute(f'CREATE DATABASE "{name}" OWNER {role}')
        return f"postgresql://{role}@127.0.0.1:{self.port}/{name}"

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def _run(self, program: str, *args: object, check: bool = True) -> None:
        command = [str(Path(self.bin) / program), *map(str, args)]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        if check and done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")


class MlflowServer:
    """`mlflow server` on 127.0.0.1 at a free port: a SQLite backend store and an artifact
    folder in `folder`. Without its job runner (seven worker processes that slow everything
    else on two cores) and without telemetry."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self, within: float = 90) -> MlflowServer:
        import urllib.request

        command = [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            *("--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}"),
            *("--artifacts-destination", str(self.folder / "artifacts")),
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"),
        ]
        env = shell_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true")
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            command, env=env, stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.uri}/health", timeout=2) as answer,
            ):
                if answer.status == 200:
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        self.stop()
        tail = (self.folder / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"mlflow server did not answer /health within {within:g} s: {tail}")

    def stop(self) -> None:
        """The server and its workers (one process group), at once."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _postgres_bin() -> str:
    """Debian keeps initdb and pg_ctl in /usr/lib/postgresql/<version>/bin, off PATH."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return str(Path(on_path).parent)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3])
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL is not installed: the storage tests need a real server "
            "(apt-get install postgresql, as .ci/run does)"
        )
    return str(Path(found[-1]).parent)


class RayCluster:
    """A Ray head and worker nodes on this machine, each its own `ray start --block`.

    The cluster uses token authentication, as `ray start --head` does when a token is at hand:
    the token lives in `home/.ray/auth_token`, and every process given `env()` sees it there.
    Each node runs in its own session, so one node can be killed, raylet and workers.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[subprocess.Popen] = []
        self.ids: dict[int, str] = {}  # the Ray node id of each node's `ray start` (by pid)
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [RAY, "get-auth-token", "--generate"],
            env=self.env(),
            capture_output=True,
            check=True,
        )

    def env(self, **extra: str) -> dict[str, str]:
        """A fresh shell's environment on the head's machine, where the token file is."""
        return shell_env(**{"HOME": str(self.home), **extra})

    def add_node(self, cpus: int, gpus: int = 0, head: bool = False) -> subprocess.Popen:
        """A node that has joined the cluster. A node that has not joined within the wait is
        started once more on fresh ports: a port found free may be taken before Ray binds it
        (seen once in a full run here, never when the module ran alone)."""
        before = set(self.node_ids()) if self.nodes else set()
        for attempt in (1, 2):
            node = self._start(cpus, gpus, head)
            self.nodes.append(node)
            try:
                self.wait_for_nodes(len(self.nodes))
                break
            except RuntimeError:
                self.nodes.remove(node)
                self.kill(node)
                if attempt == 2:
                    raise
                if head:
                    self.port = free_port()
                    self.address = f"127.0.0.1:{self.port}"
        (self.ids[node.pid],) = set(self.node_ids()) - before
        return node

    def _start(self, cpus: int, gpus: int, head: bool) -> subprocess.Popen:
        where = ["--head", f"--port={self.port}"] if head else [f"--address={self.address}"]
        ports = [
            f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
        ]
        if head:
            ports += ["--include-dashboard=false", f"--ray-client-server-port={free_port()}"]
        return subprocess.Popen(
            [RAY, "start", "--block", *where, *ports, f"--num-cpus={cpus}", f"--num-gpus={gpus}"],
            # A node that joins needs the mode said (Ray's own rule); the head finds the token.
            env=self.env(RAY_AUTH_MODE="token", RAY_USAGE_STATS_ENABLED="0"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def node_ids(self) -> list[str]:
        """The ids of the alive nodes, as Ray's state API lists them."""
        script = (
            f"import ray; ray.init(address='{self.address}', logging_level='ERROR');"
            "print(' '.join(n['NodeID'] for n in ray.nodes() if n['Alive']))"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=self.env(RAY_AUTH_MODE="token"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.stdout.split()

    def wait_for_nodes(self, count: int, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.poll() is not None:
                    raise RuntimeError(f"ray start ended: {node.stderr.read().decode()[-2000:]}")
            try:
                if len(self.node_ids()) == count:
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(1)
        raise RuntimeError(f"the Ray cluster did not reach {count} nodes in {seconds:.0f} s")

    def kill(self, node: subprocess.Popen) -> None:
        """Every process of the node at once (its session: Ray gives each worker its own
        process group), as when its machine is lost."""
        for pid in [node.pid, *_session_members(node.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        node.wait()

    def stop(self) -> None:
        for node in reversed(self.nodes):
            self.kill(node)


def _session_members(session: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # field 6 of /proc/PID/stat: the session id
            members.append(int(stat.parent.name))
    return members
