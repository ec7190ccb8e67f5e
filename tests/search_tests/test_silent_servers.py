"""Addresses that accept a connection and never answer, or answer as something else: each is
one line within HPSEARCH_CONNECT_SECONDS, never a wait of minutes. Real loopback sockets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from search.engine.cluster import check_answers
from search.errors import ClusterError, HPSearchError, StorageError
from search.rundir.storage import open_storage
from search.urls import masked
from tests.servers import listening


@pytest.fixture
def silent() -> Iterator[int]:
    with listening(None) as port:
        yield port


@pytest.fixture
def web() -> Iterator[int]:
    with listening(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n") as port:
        yield port


def test_a_ray_address_that_never_answers_is_one_line_in_time(silent, monkeypatch) -> None:
    monkeypatch.setenv("HPSEARCH_CONNECT_SECONDS", "0.5")
    started = time.monotonic()
    with pytest.raises(ClusterError) as error:
        check_answers(f"127.0.0.1:{silent}")
    assert time.monotonic() - started < 10
    assert str(error.value) == (
        f"ray.address '127.0.0.1:{silent}' accepts connections but did not answer as Ray does "
        "within 0.5 s (HPSEARCH_CONNECT_SECONDS); give a Ray head's address (host:6379), or "
        "set ray.address: null to run here"
    )


def test_a_ray_address_that_answers_as_a_web_server_is_named(web) -> None:
    with pytest.raises(ClusterError, match=r"answers, but not as Ray does \(it said b'HTTP/1.1"):
        check_answers(f"127.0.0.1:{web}")


def test_a_database_server_that_never_answers_is_one_line_in_time(silent, monkeypatch) -> None:
    monkeypatch.setenv("HPSEARCH_CONNECT_SECONDS", "1")
    started = time.monotonic()
    with pytest.raises(StorageError) as error:
        open_storage(f"postgresql://me:pw@127.0.0.1:{silent}/studies")
    assert time.monotonic() - started < 15  # the driver's own wait is minutes
    message = str(error.value)
    assert message.startswith(f"storage postgresql://me:***@127.0.0.1:{silent}/studies cannot")
    assert "timeout" in message and "(each connection waits 1 s: HPSEARCH_CONNECT_SECONDS)" in (
        message
    )


def test_a_storage_url_with_a_port_that_is_no_number_is_one_line() -> None:
    url = "postgresql://me:secret@db:notaport/studies"
    assert masked(url) == "postgresql://me:***@db:notaport/studies"
    with pytest.raises(StorageError, match=r"is not a valid database URL \(invalid literal"):
        open_storage(url)


def test_a_deadline_that_is_no_number_is_one_line(monkeypatch) -> None:
    from search.deadlines import connect_seconds

    monkeypatch.setenv("HPSEARCH_CONNECT_SECONDS", "soon")
    with pytest.raises(HPSearchError, match="HPSEARCH_CONNECT_SECONDS must be a number"):
        connect_seconds()
