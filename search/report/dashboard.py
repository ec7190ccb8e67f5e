"""optuna-dashboard on a run's Optuna storage: in the foreground (`hpsearch dashboard`) or in a
thread beside the search (`hpsearch run --dashboard`), where trials appear as they run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from search.echo import Echo
from search.errors import HPSearchError
from search.rundir.layout import RunDir
from search.rundir.storage import open_storage


class DashboardError(HPSearchError):
    """The dashboard cannot listen where it was asked to."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a browser keeps connections open; they must not block shutdown


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # one line per request is noise
        pass


def make_dashboard(storage_url: str, host: str, port: int) -> WSGIServer:
    """A dashboard server bound to host:port (port 0 picks a free one), not yet serving."""
    from optuna_dashboard import wsgi

    app = wsgi(open_storage(storage_url))
    try:
        return make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
    except OSError as exc:
        raise DashboardError(
            f"the dashboard cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "pass another --port"
        ) from None


def url_of(server: WSGIServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/dashboard/"


def serve(run_dir: Path, host: str, port: int, announce: Echo = print) -> None:
    """Blocks, serving the dashboard of a run directory until interrupted."""

    run = RunDir(run_dir)
    server = make_dashboard(run.storage_url(run.read_spec()), host, port)
    announce(f"optuna-dashboard for {run_dir}: {url_of(server)} (Ctrl-C stops it)")
    try:
        server.serve_forever()
    finally:
        server.server_close()


@contextmanager
def beside(storage_url: str, host: str, port: int) -> Iterator[str]:
    """Serve the dashboard in a thread while the block runs; yields its URL."""
    server = make_dashboard(storage_url, host, port)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    try:
        yield url_of(server)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def announced_beside(url: str, where: tuple[str, int], run_dir: Path, echo: Echo) -> Iterator[None]:
    """`hpsearch run --dashboard`: the dashboard in a thread for as long as the run lasts,
    its address said when it starts and how to serve it again when it stops."""
    with beside(url, *where) as address:
        echo(f"dashboard: {address} (trials appear as they run)")
        yield
    echo(f"dashboard: stopped with the run; `hpsearch dashboard {run_dir}` serves it again")
