"""`run_study`: the whole service for one study file, as `hpsearch run` calls it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from search.errors import SearchFailed
from search.spec import StudySpec

if TYPE_CHECKING:
    from search.final import Refit


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    refit: Refit
    trials: dict[str, int]  # state -> count


def run_study(
    spec: StudySpec,
    run_dir: Path | None = None,
    *,
    verbose: bool = False,
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Search, refit the best configuration on train + val, test it once, write the run dir."""
    from search import results
    from search.final import refit_best
    from search.progress import TrialPrinter
    from search.storage import storage_url
    from search.tuner import run_search, start_ray
    from trainable import prepare

    run_dir = Path(run_dir or Path("runs") / spec.name)
    splits = prepare(spec.data)  # bad data fails here, before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    results.write_study(run_dir, spec)
    echo(
        f"data: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test "
        f"images, {splits.num_classes} classes, {splits.image_size} px"
    )
    for note in splits.notes:
        echo(f"data: {note}")
    start_ray(spec, verbose)
    echo(
        f"study {spec.name}: {spec.search.trials} trials, {spec.search.concurrency} at a time, "
        f"{spec.search.sampler.type} sampler, {spec.search.pruner.type} pruner, "
        f"storage {storage_url(spec, run_dir)}"
    )
    started = time.perf_counter()
    outcome = run_search(
        spec, run_dir, splits, on_finish=TrialPrinter(spec.search.metric, echo), verbose=verbose
    )
    search_seconds = time.perf_counter() - started
    results.write_trials(run_dir, outcome.study, spec.search.metric)
    if outcome.over_failure_budget:
        raise SearchFailed(
            f"stopped: {outcome.failed} trials failed, more than search.max_failed_trials="
            f"{spec.search.failure_budget}; see fail_reason in {run_dir / 'trials.csv'}, fix the "
            "cause and run again to resume"
        )
    echo(f"refit: best trial on train + val, then the test split ({len(splits.test)} images)")
    started = time.perf_counter()
    refit = refit_best(outcome.study, spec, splits)
    info = {
        "classes": list(splits.classes),
        "image_size": splits.image_size,
        "images": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
    }
    seconds = {"search": round(search_seconds, 1), "refit": round(time.perf_counter() - started, 1)}
    results.write_results(run_dir, spec, outcome.study, refit, info, seconds)
    counts: dict[str, int] = {}
    for trial in outcome.study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return RunResult(run_dir, refit, counts)
