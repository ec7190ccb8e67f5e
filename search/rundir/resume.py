"""What a run directory already holds: can this study resume there, and is anything left to do.

A run resumes only where the earlier run searched the same thing: the data, the model, the
space, the fixed settings and the metric. Changing `search.trials` extends the study; changing
how it searches (sampler, pruner, concurrency, resources) is allowed too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from pydantic import ValidationError

from search.errors import RunDirError
from search.rundir.layout import RunDir, Summary
from search.rundir.storage import open_storage
from search.study.spec import StudySpec
from search.urls import masked

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

# What must match for old and new trials to be comparable.
MUST_MATCH = ("name", "data", "model", "space", "fixed", "search.metric", "storage")


def load_run_study(run: RunDir) -> tuple[StudySpec, optuna.Study]:
    """A run directory's study spec and its Optuna study, read from the storage."""

    spec = run.read_spec()
    url = run.storage_url(spec)
    try:
        return spec, optuna.load_study(study_name=spec.name, storage=open_storage(url))
    except KeyError:
        raise RunDirError(
            f"storage {masked(url)} has no study {spec.name} yet; its search has not started"
        ) from None


def check_resumable(run: RunDir, spec: StudySpec) -> None:
    """Refuse to mix incomparable trials in one study."""
    previous = run.read_spec_dict()
    if previous is None:
        return
    previous = _with_defaults(previous)
    current = spec.model_dump(mode="json")
    for key in MUST_MATCH:
        old, new = _get(previous, key), _get(current, key)
        difference = _first_difference(key, old, new)
        if difference:
            path, before, after = difference
            raise RunDirError(
                f"{run} holds a run of this study with {path}={_show(before)}, now "
                f"{_show(after)}; "
                "resuming would mix trials that are not comparable: add --restart to move the "
                "old run aside and start over, or give the study a new name"
            )


def _with_defaults(previous: dict[str, Any]) -> dict[str, Any]:
    """An older run's study with the settings added since filled in at their defaults, so a
    new setting left at its default does not read as a change; as written if it no longer
    validates."""

    try:  # paths as this run's are: absolute (an older run may have kept them relative)
        return StudySpec.model_validate(previous).with_absolute_paths().model_dump(mode="json")
    except ValidationError:
        return previous


def check_study_kept(run: RunDir, spec: StudySpec, storage: optuna.storages.BaseStorage) -> None:
    """A run directory that has searched (its study.yaml is written once the study is open)
    whose storage no longer holds the study: the storage was damaged, emptied or replaced.
    Going on would start the study over beside results of the lost one."""

    if run.read_spec_dict() is None:
        return
    try:
        storage.get_study_id_from_name(spec.name)  # one look-up, not every study's summary
    except KeyError:
        raise RunDirError(
            f"storage {masked(run.storage_url(spec))} holds no study {spec.name}, though {run} "
            "holds a run of it: the storage was damaged, emptied or replaced; restore it from "
            "a backup, or add --restart to set the old run aside and start over"
        ) from None


def move_aside(run: RunDir, spec: StudySpec) -> Path | None:
    """--restart: rename the old run directory (never delete it); None if there was none."""
    run_dir = run.path
    if not run_dir.exists():
        return None
    if spec.storage:
        raise RunDirError(
            f"--restart cannot set aside study {spec.name} in the external storage "
            f"{spec.storage}; give the study a new name (or delete it there yourself with "
            "optuna delete-study)"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(run_dir.stat().st_mtime))
    target = run_dir.with_name(f"{run_dir.name}.old-{stamp}")
    suffix = 1
    while target.exists():
        suffix += 1
        target = run_dir.with_name(f"{run_dir.name}.old-{stamp}-{suffix}")
    run_dir.rename(target)
    return target


def finished_results(run: RunDir, trial: FrozenTrial) -> Summary | None:
    """The summary of a refit of `trial` already in the run directory, if complete: the same
    trial by number, parameters and value (a storage made anew has another trial under the
    same number, and the refit there is not its)."""
    summary = run.read_summary()
    if summary is None or summary.best_trial != trial.number:
        return None
    same = summary.best_params == trial.params and summary.best_value == trial.value
    return summary if same else None


def _show(value: Any) -> str:
    return "absent" if value is None else repr(value)


def _get(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data.get(part) if isinstance(data, dict) else None  # type: ignore[assignment]
    return data


def _first_difference(path: str, old: Any, new: Any) -> tuple[str, Any, Any] | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            found = _first_difference(f"{path}.{key}", old.get(key), new.get(key))
            if found:
                return found
        return None
    return None if old == new else (path, old, new)
