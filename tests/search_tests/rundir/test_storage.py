"""Opening a study's storage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow  # real processes, racing
def test_many_processes_opening_a_new_sqlite_storage_at_once(tmp_path: Path) -> None:
    """The first `hpsearch trials` or dashboard may open the file while the run creates it."""
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    code = (
        "import sys; from search.rundir.storage import open_storage; open_storage(sys.argv[1]); "
        "print('ok')"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [out.strip() for out, _ in outputs] == ["ok"] * 6, [err for _, err in outputs]


def test_a_variable_in_the_storage_url_is_read_from_the_environment(tmp_path, monkeypatch):
    import optuna

    from search.errors import StorageError
    from search.rundir.storage import open_storage

    url = "sqlite:///${HPSEARCH_TEST_DIR}/optuna.db"
    monkeypatch.delenv("HPSEARCH_TEST_DIR", raising=False)
    with pytest.raises(StorageError, match=r"storage: \$\{HPSEARCH_TEST_DIR\} is not set"):
        open_storage(url)
    monkeypatch.setenv("HPSEARCH_TEST_DIR", str(tmp_path))
    optuna.create_study(study_name="s", storage=open_storage(url))
    assert (tmp_path / "optuna.db").is_file()


def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_refused(tmp_path) -> None:
    from search.errors import StorageError
    from search.rundir.storage import open_storage

    url = f"sqlite:///{tmp_path}/nowhere/optuna.db"
    with pytest.raises(StorageError, match=r"its folder .*/nowhere does not exist; create it"):
        open_storage(url)
    assert not (tmp_path / "nowhere").exists()  # nothing made outside a run directory


def test_a_damaged_sqlite_file_is_told_apart_from_one_held_by_another_process(
    tmp_path, monkeypatch
) -> None:
    import sqlite3

    import pytest

    from search.errors import StorageError
    from search.rundir import storage

    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is no database at all, but it is long enough to be read" * 20)
    with pytest.raises(StorageError, match="it is damaged: restore it from a backup"):
        storage.open_storage(f"sqlite:///{damaged}")

    held = tmp_path / "held.db"
    holder = sqlite3.connect(held, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing, past the wait
    monkeypatch.setattr(storage, "SQLITE_WAIT_S", 0.5)
    try:
        with pytest.raises(StorageError) as raised:
            storage.open_storage(f"sqlite:///{held}")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "stayed locked by another process for 0.5 s" in str(raised.value)
    assert "restore it from a backup" not in str(raised.value)
