"""`run_study`: the whole service for one study file, as `hpsearch run` calls it.

Every input is checked before anything is written (the study file already is; then the data,
the model and its weights, an external storage, Ray), the run directory is locked, and only
then does the search touch the storage. An interrupted search keeps its finished trials; the
same command resumes it.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.errors import SearchFailed, SearchInterrupted
from search.spec import StudySpec

if TYPE_CHECKING:
    import optuna

    from trainable import Splits


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    summary: dict[str, Any]  # summary.json: best trial and value, trial counts, test scores
    refitted: bool  # False when the run directory already held this result


def run_study(
    spec: StudySpec,
    run_dir: Path | None = None,
    *,
    restart: bool = False,
    verbose: bool = False,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Search, refit the best configuration on train + val, test it once, write the run dir."""
    from search.lock import RunLock
    from search.resume import check_resumable, move_aside

    run_dir = Path(run_dir or Path("runs") / spec.name)
    if restart:
        with RunLock(run_dir) if run_dir.exists() else _nothing():
            moved = move_aside(run_dir, spec)
        if moved:
            echo(f"restart: the previous run is now {moved}")
    with RunLock(run_dir):
        check_resumable(run_dir, spec)
        splits = _checked_inputs(spec, verbose, echo)
        # After ray.init, which installs a native SIGTERM handler that aborts the process.
        with _sigterm_as_interrupt():
            return _search_and_refit(spec, run_dir, splits, verbose, echo)


def _checked_inputs(spec: StudySpec, verbose: bool, echo: Callable[[str], None]) -> Splits:
    """Data, model, storage and Ray, each failing with one line before any trial starts."""
    from search.storage import check_reachable
    from search.tuner import start_ray
    from trainable import build_model, prepare

    splits = prepare(spec.data)
    echo(
        f"data: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test "
        f"images, {splits.num_classes} classes, {splits.image_size} px"
    )
    for note in splits.notes:
        echo(f"data: {note}")
    build_model(spec.model.backbone, spec.model.weights, splits.num_classes, dropout=0.0)
    if spec.storage:
        check_reachable(spec.storage)
    start_ray(spec, verbose)
    return splits


def _search_and_refit(
    spec: StudySpec, run_dir: Path, splits: Splits, verbose: bool, echo: Callable[[str], None]
) -> RunResult:
    from search import results
    from search.progress import TrialPrinter
    from search.storage import open_storage, storage_url
    from search.tuner import fail_interrupted, open_study, run_search

    url = storage_url(spec, run_dir)
    study = open_study(spec, open_storage(url))
    results.write_study(run_dir, spec)
    echo(
        f"study {spec.name}: {spec.search.trials} trials, {spec.search.concurrency} at a time, "
        f"{spec.search.sampler.type} sampler, {spec.search.pruner.type} pruner, storage {url}"
    )
    started = time.perf_counter()
    try:
        outcome = run_search(
            spec,
            run_dir,
            splits,
            study,
            on_finish=TrialPrinter(spec.search.metric, echo),
            verbose=verbose,
        )
    except KeyboardInterrupt:  # a second Ctrl-C, or SIGTERM: Ray did not stop gracefully
        outcome = None
        fail_interrupted(study)
    finally:
        results.write_trials(run_dir, study, spec.search.metric)
    if outcome is None or outcome.interrupted:
        raise _interrupted(study, spec)
    if outcome.over_failure_budget:
        raise SearchFailed(
            f"stopped: {outcome.failed} trials failed, more than search.max_failed_trials="
            f"{spec.search.failure_budget}; see fail_reason in {run_dir / 'trials.csv'}, fix the "
            "cause and run again to resume"
        )
    return _refit(spec, run_dir, splits, study, time.perf_counter() - started, echo)


def _refit(
    spec: StudySpec,
    run_dir: Path,
    splits: Splits,
    study: optuna.Study,
    search_seconds: float,
    echo: Callable[[str], None],
) -> RunResult:
    from search import results
    from search.final import best_config, refit_best
    from search.resume import finished_results

    _, best = best_config(study, spec)
    existing = finished_results(run_dir, best.number)
    if existing is not None:
        echo(
            f"nothing new to refit: trial {best.number} is still the best, its refit is in "
            f"{run_dir}"
        )
        return RunResult(run_dir, existing, refitted=False)
    echo(
        f"refit: trial {best.number} on train + val, then the test split "
        f"({len(splits.test)} images)"
    )
    started = time.perf_counter()
    try:
        refit = refit_best(study, spec, splits)
    except KeyboardInterrupt:
        raise _interrupted(study, spec, during="the refit") from None
    info = {
        "classes": list(splits.classes),
        "image_size": splits.image_size,
        "images": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
    }
    seconds = {"search": round(search_seconds, 1), "refit": round(time.perf_counter() - started, 1)}
    results.write_results(run_dir, spec, study, refit, info, seconds)
    return RunResult(run_dir, json.loads((run_dir / "summary.json").read_text()), refitted=True)


def _interrupted(
    study: optuna.Study, spec: StudySpec, during: str = "the search"
) -> SearchInterrupted:
    from search.sampling import finished_count

    return SearchInterrupted(
        f"interrupted during {during}: {finished_count(study)} of {spec.search.trials} trials "
        "finished and are kept; run the same command again to resume"
    )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a job scheduler, `kill`) does what Ctrl-C does: whatever SIGINT handler is in
    place runs (Ray's graceful stop during the search), else KeyboardInterrupt."""

    def interrupt(signum: int, frame: object) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)
        else:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
