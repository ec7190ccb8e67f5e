"""A finished run directory whose storage was damaged: emptied, or garbage. One line each,
and nothing in the run directory changes (no study started over beside the old results, no
refit reused for a trial the storage does not have)."""

from __future__ import annotations

import shutil

import pytest

from search.errors import RunDirError, StorageError
from search.run import run_study

pytestmark = pytest.mark.slow


def copy_of(finished, tmp_path):
    result, spec, _ = finished
    copy = tmp_path / "run"
    shutil.copytree(result.run_dir, copy, ignore=shutil.ignore_patterns(".lock"))
    return copy, spec


def contents(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_an_emptied_storage_is_named_and_nothing_starts_over(finished, tmp_path) -> None:
    copy, spec = copy_of(finished, tmp_path)
    (copy / "optuna.db").write_bytes(b"")  # truncated to nothing
    for name in ("optuna.db-wal", "optuna.db-shm"):
        (copy / name).unlink(missing_ok=True)
    before = contents(copy)
    with pytest.raises(RunDirError) as error:
        run_study(spec, copy, echo=lambda line: None)
    assert f"holds no study {spec.name}, though {copy} holds a run of it" in str(error.value)
    assert "add --restart to set the old run aside" in str(error.value)
    kept = lambda files: {  # noqa: E731 - what the run had written; its log and lock aside
        k: v for k, v in files.items() if k not in ("run.log", ".lock") and "optuna.db" not in k
    }
    assert kept(contents(copy)) == kept(before)


def test_a_garbled_storage_file_is_called_damaged_not_unreachable(finished, tmp_path) -> None:
    copy, spec = copy_of(finished, tmp_path)
    (copy / "optuna.db").write_bytes(b"this is not a database" * 100)
    for name in ("optuna.db-wal", "optuna.db-shm"):
        (copy / name).unlink(missing_ok=True)
    with pytest.raises(StorageError) as error:
        run_study(spec, copy, echo=lambda line: None)
    message = str(error.value)
    assert message.startswith(f"storage file {copy / 'optuna.db'} cannot be read as an Optuna")
    assert "it is damaged: restore it from a backup" in message and "server" not in message
