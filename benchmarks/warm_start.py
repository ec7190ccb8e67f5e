"""How soon a search finds a good configuration: cold, from the built-in portfolio, warm-started
from the other tasks' studies, and Ray Tune's OptunaSearch + ASHA.

    python benchmarks/warm_start.py [--seeds 3] [--trials 10] [--out FILE]

Every outcome goes to benchmarks/warm_start.json (or --out), from which
docs/budgets-and-warm-starts.md's table is drawn (benchmarks/recorded.py).

Three tasks made offline, of different image sizes and class counts: scikit-learn's digits
(10 classes, 32 px), crops of its two photographs (4 classes, 48 px: benchmarks/photo_crops.py)
and synthetic shapes (5 classes, 40 px: benchmarks/shapes.py), one search space (lr, optimizer,
dropout, batch size, 1 to 3 epochs), ImageNet EfficientNet-Lite0. For each task and seed, side
by side:

- random, no pruning  the reference: --trials random trials, each trained its 3 epochs; its
                      best validation loss is the target the others race to;
- cold                hpsearch as configured by default (TPE, successive halving), --trials;
- portfolio           the same with search.start: portfolio;
- warm                the same, warm-started (search.warm_start) from the other two tasks'
                      cold runs of the same seed (leave one task out);
- ray asha            Ray Tune's OptunaSearch + ASHAScheduler, stopped at the epochs the
                      cold search trained.

Each arm's epoch reports are put in the order they happened (trial start + its epoch's time);
printed per arm: in how many runs it reached the target and after how many epochs (summed over
all trials), the best validation loss among its first three finished trials and its final
best, both divided by the target (1.00: as good as the unpruned reference's best).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import recorded
from search_quality import EpochStopper, ray_space, ray_trial

from search.study.spec import StudySpec

HERE = Path(__file__).parent
TASKS: dict[str, dict[str, Any]] = {
    "digits": {"source": "digits", "image_size": 32},
    "photo-crops": {
        "source": "imagefolder",
        "root": str(HERE / "data" / "photo_crops"),
        "image_size": 48,
    },
    "shapes": {"source": "imagefolder", "root": str(HERE / "data" / "shapes"), "image_size": 40},
}
SPACE = {
    "lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
    "optimizer": {"type": "categorical", "choices": ["adamw", "sgd"]},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "batch_size": {"type": "categorical", "choices": [16, 32]},
    "epochs": {"type": "int", "low": 1, "high": 3},
}
ARMS = ("random, no pruning", "cold", "portfolio", "warm (other tasks)", "ray asha")


@dataclass(frozen=True)
class Outcome:
    arm: str
    task: str
    seed: int
    target: float  # the unpruned random search's best validation loss
    reached_after: int | None  # epochs (all trials) until a report <= target; None: never
    epochs: int  # epochs trained in all
    first_three: float  # best validation loss among the first three finished trials
    best: float  # the arm's best validation loss


TINY = False  # --tiny: 16 px, random weights, a few images a class (a test that it runs)


def make_tasks(tasks: list[str], tiny: Path | None) -> None:
    """The photo crops and shapes made where missing; with `tiny` (--tiny), tiny ones there,
    and every task's data and model the tiny kind (TINY)."""
    import photo_crops
    import shapes

    global TINY
    TINY = tiny is not None
    for module, task in ((photo_crops, "photo-crops"), (shapes, "shapes")):
        if task not in tasks:
            continue
        if tiny is not None:
            TASKS[task]["root"] = str(tiny / task)
        root = Path(TASKS[task]["root"])
        if not root.is_dir():
            module.make(root, **({"per_class": 12} if TINY else {}))


def task_basics(task: str) -> dict[str, Any]:
    """A task's `data` and `model` sections (recipe.py's tasks are these too)."""
    data = {**TASKS[task], "val_fraction": 0.25, "test_fraction": 0.25, "seed": 0}
    if TINY:  # digits' 1,797 images stand in as 60 fake ones
        data = {**data, "image_size": 16}
        if task == "digits":
            data = {"source": "fake", "samples": 60, "classes": 4, "image_size": 16}
    model = {"backbone": "efficientnet_lite0", "weights": "none" if TINY else "imagenet"}
    return {"data": data, "model": model}


def task_spec(task: str, seed: int, trials: int, **search: Any) -> StudySpec:
    return StudySpec.model_validate(
        {
            "name": task,
            **task_basics(task),
            "space": SPACE,
            "fixed": {"schedule": "one_cycle"},
            "search": {"trials": trials, "concurrency": 2, "seed": seed, **search},
        }
    )


def reports_of(study: Any) -> list[tuple[float, float, int]]:
    """Every epoch report of the search's trials: (when, value, trial), in time order; a
    trial's first report is its first curve value, and so on."""
    from search.trials.curves import records_of
    from search.trials.states import search_trials

    found = []
    for trial in search_trials(study):
        if trial.datetime_start is None:
            continue
        start = trial.datetime_start.timestamp()
        records = records_of(trial)
        for epoch, value in sorted(trial.intermediate_values.items()):
            seconds = records[epoch - 1].get("elapsed_seconds", epoch) if records else epoch
            found.append((start + seconds, value, trial.number))
    return sorted(found)


def measured(
    arm: str, task: str, seed: int, reports: list[tuple[float, float, int]], target: float
) -> Outcome:
    reached = next((i + 1 for i, (_, v, _) in enumerate(reports) if v <= target + 1e-12), None)
    last = {trial: when for when, _, trial in reports}  # time order: each trial's last report
    first = set(sorted(last, key=last.__getitem__)[:3])  # the first three trials to finish
    return Outcome(
        arm=arm,
        task=task,
        seed=seed,
        target=target,
        reached_after=reached,
        epochs=len(reports),
        first_three=min(v for _, v, t in reports if t in first),
        best=min(v for _, v, _ in reports),
    )


def searched(spec: StudySpec, folder: Path) -> tuple[Path, list[tuple[float, float, int]]]:
    import optuna

    from search.run import run_study

    run_study(spec, folder, echo=lambda line: None, search_only=True)  # no refit: not compared
    study = optuna.load_study(study_name=spec.name, storage=f"sqlite:///{folder}/optuna.db")
    return folder, reports_of(study)


def ray_asha(spec: StudySpec, splits: Any, epochs: int, folder: Path, seed: int) -> list:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(ray_trial, splits=splits, spec=spec), {"cpu": 1}),
        param_space=ray_space(spec),
        tune_config=tune.TuneConfig(
            search_alg=OptunaSearch(metric="val_loss", mode="min", seed=seed),
            scheduler=ASHAScheduler(
                time_attr="epoch", metric="val_loss", mode="min", max_t=3, grace_period=1
            ),
            num_samples=10_000,
            max_concurrent_trials=2,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            storage_path=str(folder), name="ray", verbose=0, stop=EpochStopper(epochs)
        ),
    )
    reports = []
    for number, result in enumerate(tuner.fit()):
        frame = result.metrics_dataframe
        if frame is None or "val_loss" not in frame:
            continue
        for _, row in frame.iterrows():
            reports.append((float(row["timestamp"]), float(row["val_loss"]), number))
    return sorted(reports)


def run_seed(seed: int, trials: int, splits: dict[str, Any]) -> list[Outcome]:
    outcomes = _Said()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        targets, cold_dirs, cold_epochs = {}, {}, {}
        for task in TASKS:
            reference = task_spec(
                task, seed, trials, sampler={"type": "random"}, pruner={"type": "none"}
            )
            _, reports = searched(reference, folder / f"{task}-random")
            targets[task] = min(v for _, v, _ in reports)
            outcomes.append(measured(ARMS[0], task, seed, reports, targets[task]))
            cold_dirs[task], reports = searched(task_spec(task, seed, trials), folder / task)
            cold_epochs[task] = len(reports)
            outcomes.append(measured(ARMS[1], task, seed, reports, targets[task]))
        for task in TASKS:
            portfolio = task_spec(task, seed, trials, start="portfolio")
            _, reports = searched(portfolio, folder / f"{task}-portfolio")
            outcomes.append(measured(ARMS[2], task, seed, reports, targets[task]))
            others = [str(cold_dirs[t]) for t in TASKS if t != task]
            warm = task_spec(task, seed, trials, warm_start=others)
            _, reports = searched(warm, folder / f"{task}-warm")
            outcomes.append(measured(ARMS[3], task, seed, reports, targets[task]))
            reports = ray_asha(
                task_spec(task, seed, trials), splits[task], cold_epochs[task], folder, seed
            )
            outcomes.append(measured(ARMS[4], task, seed, reports, targets[task]))
    return outcomes


class _Said(list):
    """Outcomes, each printed as it comes in."""

    def append(self, outcome: Outcome) -> None:
        _say(outcome)
        super().append(outcome)


def _say(o: Outcome) -> None:
    reached = "never" if o.reached_after is None else f"after {o.reached_after:>2}"
    print(
        f"  seed {o.seed} {o.task:<12} {o.arm:<20} target {o.target:.4f} reached {reached:<8} "
        f"{o.epochs:>3} epochs  first 3 {o.first_three:.4f}  best {o.best:.4f}",
        flush=True,
    )


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| arm | reached the target | epochs to reach it (mean over those that did) "
        "| epochs trained | first three trials' best / target | best / target |",
        "|---|---|---|---|---|---|",
    ]
    for arm in ARMS:
        rows = [o for o in outcomes if o.arm == arm]
        if not rows:
            continue
        hits = [o.reached_after for o in rows if o.reached_after is not None]
        mean_hit = f"{statistics.mean(hits):.1f}" if hits else "-"
        lines.append(
            f"| {arm} | {len(hits)} of {len(rows)} | {mean_hit} | "
            f"{statistics.mean(o.epochs for o in rows):.1f} | "
            f"{statistics.mean(o.first_three / o.target for o in rows):.2f} | "
            f"{statistics.mean(o.best / o.target for o in rows):.2f} |"
        )
    return "\n".join(lines)


def summary(outcomes: list[Outcome]) -> str:
    """How the first trials of a warm start compare with a cold start's, run by run."""
    by_run = {(o.task, o.seed, o.arm): o for o in outcomes}
    runs = {(o.task, o.seed) for o in outcomes}
    pairs = [
        (by_run[(*run, "warm (other tasks)")], by_run[(*run, "cold")])
        for run in sorted(runs)
        if (*run, "warm (other tasks)") in by_run and (*run, "cold") in by_run
    ]
    if not pairs:
        return ""
    better = sum(warm.first_three < cold.first_three for warm, cold in pairs)
    warm_mean = statistics.mean(w.first_three / w.target for w, _ in pairs)
    cold_mean = statistics.mean(c.first_three / c.target for _, c in pairs)
    return (
        f"Warm-started, the first three trials were better than cold ones in {better} of "
        f"{len(pairs)} runs ({warm_mean:.2f} against {cold_mean:.2f} times the target)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10, help="trials a search")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/warm_start.json"
    )
    parser.add_argument(
        "--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}"
    )
    parser.add_argument(
        "--tiny",
        type=Path,
        default=None,
        metavar="DIR",
        help="a check that it runs: tiny datasets made in DIR, 16 px, untrained weights",
    )
    args = parser.parse_args()

    from search.engine.cluster import start_ray
    from trainable import prepare

    tiny = args.tiny
    out = args.out or (tiny / "warm_start.json" if tiny else recorded.beside("warm_start"))
    for task in set(TASKS) - set(args.tasks.split(",")):
        del TASKS[task]
    make_tasks(list(TASKS), tiny)
    splits = {task: prepare(task_spec(task, 0, args.trials).data) for task in TASKS}
    start_ray(task_spec(next(iter(TASKS)), 0, args.trials), verbose=False)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    for seed in range(args.seeds):
        outcomes += run_seed(seed, args.trials, splits)
        # after every seed: a long run that stops keeps what it measured
        seconds = round(time.perf_counter() - started)
        recorded.save(out, outcomes, complete=seed == args.seeds - 1, seconds=seconds)
    print(f"{args.seeds} seeds, {args.trials} trials a search, {seconds} s")
    print(table(outcomes))
    print(summary(outcomes))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
