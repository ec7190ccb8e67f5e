"""A run directory on a file system that cannot take it: a read-only one, a full one, a path
that is a file. Real file systems (a tmpfs mounted for the test) where the test may mount one;
skipped with the reason where it may not."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.errors import RunDirError
from search.rundir.layout import RunDir, write_text
from search.rundir.lock import RunLock


def mounted(folder: Path, options: str) -> Iterator[Path]:
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; this test runs as another user")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)])
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the test mount a tmpfs ({options})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


@pytest.fixture
def read_only(tmp_path) -> Iterator[Path]:
    yield from mounted(tmp_path / "ro", "ro,size=1m")


@pytest.fixture
def full(tmp_path) -> Iterator[Path]:
    yield from mounted(tmp_path / "full", "size=512k")


def test_a_run_directory_that_is_a_file_or_under_one_is_one_line(tmp_path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(RunDirError, match=f"run directory {afile} is a file; give --run-dir"):
        RunLock(RunDir(afile)).__enter__()
    under = afile / "run"
    with pytest.raises(RunDirError, match=f"{under} lies under {afile}, which is a file"):
        RunLock(RunDir(under)).__enter__()


def test_a_read_only_file_system_is_one_line(read_only) -> None:
    run = RunDir(read_only / "run")
    with pytest.raises(RunDirError, match=r"cannot be written \(Read-only file system\)"):
        RunLock(run).__enter__()


def test_a_full_disk_while_saving_the_model_is_one_line_and_leaves_nothing(full) -> None:
    import torch

    from search.rundir.results import save_model

    model = full / "model.pt"
    save_model(model, {"state_dict": {"w": torch.zeros(10)}})  # a small one fits
    before = model.read_bytes()
    with pytest.raises(RunDirError) as error:
        save_model(model, {"state_dict": {"w": torch.zeros(1_000_000)}})  # 4 MB: it does not
    assert str(error.value).startswith(f"no space left on the device writing {model}; free")
    assert sorted(p.name for p in full.iterdir()) == ["model.pt"]  # no .model.pt.tmp
    assert model.read_bytes() == before  # the one there is untouched
    assert not open_under(full)  # the failed save let go of its file: the disk can unmount
    with pytest.raises(RunDirError, match="no space left on the device writing"):
        write_text(full / "trials.csv", "x" * 2_000_000)
    assert sorted(p.name for p in full.iterdir()) == ["model.pt"]


def test_a_small_disk_with_room_is_not_called_full(full) -> None:
    """512 KiB free in all: less than any fixed threshold, yet room for what is written."""
    from search.rundir.results import no_room_left

    assert not no_room_left(full / "model.pt")
    (full / "filler").write_bytes(b"\0" * 400_000)
    with pytest.raises(OSError):
        (full / "more").write_bytes(b"\0" * 400_000)
    assert no_room_left(full / "model.pt")


def open_under(folder: Path) -> list[str]:
    """The files under `folder` this process holds open."""
    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held
