"""Which fine-tuning levers pay: today's defaults against each lever alone and all of them
together, with Ray Tune's OptunaSearch + ASHA on today's defaults as the peer.

    python benchmarks/recipe.py [--seeds 3] [--trials 16] [--tasks digits,photo-crops,shapes]
                                [--arms defaults,ema,...] [--out FILE] [--tiny DIR]

Three tasks made offline, as benchmarks/warm_start.py makes them (scikit-learn's digits at
32 px, crops of its photographs at 48 px, synthetic shapes at 40 px), ImageNet
EfficientNet-Lite0, one search space (lr, dropout, batch size, 1 to 3 epochs), --trials a
search, hpsearch's defaults (TPE, successive halving). For each task and seed, side by side:

- defaults      today's training settings;
- ema           the weights' moving average, half-life half an epoch (ema_half_life: 0.5);
- probe         LP-FT (freeze: probe);
- stay_near     L2-SP, its strength searched (1e-4 to 1e-1, log);
- layer_decay   layer-wise rates, the factor searched (0.65 to 1);
- trivial       TrivialAugment (augment: trivial);
- together      every lever above at once;
- ray asha      Ray Tune's OptunaSearch + ASHAScheduler on the defaults, given the epochs the
                defaults' search trained.

Each arm's choice is refitted on train + val and tested once, and so are the other
configurations of its top 3 (the selection regret, as in search_quality.py). Every outcome goes
to benchmarks/recipe.json (or --out); printed: per arm, the mean test accuracy over tasks and
seeds, each task's mean, its worst task against the defaults in test images, the regret and
the epochs trained.
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
import warm_start
from search_quality import hpsearch, ray_asha
from warm_start import TASKS

from search.study.spec import StudySpec

SPACE = {
    "lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "batch_size": {"type": "categorical", "choices": [16, 32]},
    "epochs": {"type": "int", "low": 1, "high": 3},
}
# arm -> (what it holds, what it adds to the space)
LEVERS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "defaults": ({}, {}),
    "ema": ({"ema_half_life": 0.5}, {}),
    "probe": ({"freeze": "probe"}, {}),
    "stay_near": ({}, {"stay_near": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}}),
    "layer_decay": ({}, {"layer_decay": {"type": "float", "low": 0.65, "high": 1.0}}),
    "trivial": ({"augment": "trivial"}, {}),
}
LEVERS["together"] = (
    {k: v for held, _ in LEVERS.values() for k, v in held.items()},
    {k: v for _, space in LEVERS.values() for k, v in space.items()},
)
TOP_K = 3


@dataclass(frozen=True)
class Outcome:
    arm: str
    task: str
    seed: int
    accuracy: float  # the refit's, on the test split
    test_images: int
    regret: float  # best test accuracy among the arm's top-k refits, less its own
    epochs_trained: int
    seconds: float


def task_spec(task: str, seed: int, trials: int, arm: str) -> StudySpec:
    held, searched = LEVERS.get(arm, ({}, {}))
    return StudySpec.model_validate(
        {
            "name": f"{task}-{arm}".replace(" ", "_"),
            **warm_start.task_basics(task),
            "space": {**SPACE, **searched},
            "fixed": held,
            "search": {"trials": trials, "concurrency": 2, "seed": seed},
        }
    )


def run_task(task: str, seed: int, trials: int, arms: list[str], splits: Any) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        defaults_epochs = None
        for arm in arms:
            spec = task_spec(task, seed, trials, arm)
            started = time.perf_counter()
            if arm == "ray asha":
                epochs = defaults_epochs or trials * spec.trial_epochs.epochs
                found = ray_asha(spec, splits, seed, epochs, folder, TOP_K)
            else:
                found = hpsearch(spec, splits, arm, seed, folder, TOP_K)
            if arm == "defaults":
                defaults_epochs = found.epochs_trained
            outcome = Outcome(
                arm=arm,
                task=task,
                seed=seed,
                accuracy=found.accuracy,
                test_images=len(splits.test),
                regret=found.regret,
                epochs_trained=found.epochs_trained,
                seconds=round(time.perf_counter() - started, 1),
            )
            _say(outcome)
            outcomes.append(outcome)
    return outcomes


def _say(o: Outcome) -> None:
    print(
        f"  seed {o.seed} {o.task:<12} {o.arm:<12} accuracy {o.accuracy:.4f}  regret "
        f"{o.regret:.4f}  {o.epochs_trained:>3} epochs  {o.seconds:.0f} s",
        flush=True,
    )


def table(outcomes: list[Outcome]) -> str:
    """Per arm: the mean over tasks and seeds, each task's mean, the worst task against the
    defaults (in test images: mean over seeds), regret and epochs."""
    tasks = list(dict.fromkeys(o.task for o in outcomes))
    arms = list(dict.fromkeys(o.arm for o in outcomes))

    def mean(arm: str, task: str | None = None, key: str = "accuracy") -> float:
        rows = [o for o in outcomes if o.arm == arm and (task is None or o.task == task)]
        return statistics.mean(getattr(o, key) for o in rows) if rows else float("nan")

    lines = [
        "| arm | test accuracy, mean | "
        + " | ".join(tasks)
        + " | worst task against the defaults, images | regret | epochs trained |",
        "|---|---|" + "---|" * len(tasks) + "---|---|---|",
    ]
    for arm in arms:
        worst = "" if arm == "defaults" else "-"
        if arm != "defaults" and "defaults" in arms:
            images = {o.task: o.test_images for o in outcomes}
            worst = f"{min((mean(arm, t) - mean('defaults', t)) * images[t] for t in tasks):+.1f}"
        lines.append(
            f"| {arm} | {mean(arm):.4f} | "
            + " | ".join(f"{mean(arm, t):.4f}" for t in tasks)
            + f" | {worst} | {mean(arm, key='regret'):.4f} | "
            f"{mean(arm, key='epochs_trained'):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=16, help="trials a search")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"of {', '.join(TASKS)}")
    parser.add_argument("--arms", default=",".join([*LEVERS, "ray asha"]))
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/recipe.json")
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

    tasks = args.tasks.split(",")
    arms = args.arms.split(",")
    out = args.out or (args.tiny / "recipe.json" if args.tiny else recorded.beside("recipe"))
    warm_start.make_tasks(tasks, args.tiny)
    splits = {task: prepare(task_spec(task, 0, args.trials, "defaults").data) for task in tasks}
    start_ray(task_spec(tasks[0], 0, args.trials, "defaults"), verbose=False)
    outcomes: list[Outcome] = []
    for seed in range(args.seeds):
        for task in tasks:
            outcomes += run_task(task, seed, args.trials, arms, splits[task])
        recorded.save(out, outcomes, complete=seed == args.seeds - 1)
    print(table(outcomes))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
