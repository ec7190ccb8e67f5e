"""A wait for Ray to place something says what it waits for, and gives up after its time."""

from __future__ import annotations

import pytest

from search.engine.waiting import wait_until_placed
from search.errors import ClusterError


def wait(ready, lines: list[str], give_up_s: float = 0.3) -> None:
    wait_until_placed(
        ready,
        who="refit",
        waiting_for="a node with 2 CPUs free",
        gave_up="refit: no node had 2 CPUs free",
        echo=lines.append,
        notice_s=0.1,
        give_up_s=give_up_s,
    )


def test_what_is_ready_at_once_says_nothing() -> None:
    lines: list[str] = []
    wait(lambda timeout: True, lines)
    assert lines == []


def test_a_wait_says_so_each_notice_and_ends_when_ready() -> None:
    answers = iter([False, False, True])
    asked: list[float] = []
    lines: list[str] = []

    def ready(timeout: float) -> bool:
        asked.append(timeout)
        return next(answers)

    wait(ready, lines, give_up_s=60)
    assert asked == [0.1, 0.1, 0.1]  # never more than the notice interval at a time
    assert [line.split(" (")[0] for line in lines] == [
        "refit: waiting for a node with 2 CPUs free"
    ] * 2
    assert all(line.endswith("s so far, gives up after 60 s)") for line in lines)


def test_a_wait_gives_up_after_its_time() -> None:
    import time

    lines: list[str] = []
    asked: list[float] = []

    def never(timeout: float) -> bool:
        asked.append(timeout)
        time.sleep(timeout)
        return False

    with pytest.raises(ClusterError, match=r"^refit: no node had 2 CPUs free$"):
        wait(never, lines)
    assert asked and sum(asked) <= 0.3 + 1e-9  # never asked to wait past the time given
    assert len(lines) == len(asked) - 1  # said after each wait but the one it gave up on
