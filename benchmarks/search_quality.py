"""Search quality for the compute: hpsearch against random search and Ray Tune's own ASHA.

    python benchmarks/search_quality.py STUDY [--seeds N] [--pruners median,successive_halving]

On one study, side by side in one run, for each seed:

- hpsearch        `run_study` as the study configures it (or with each pruner of --pruners);
- random          the same number of trials, random sampler, no pruner: every trial trains
                  the whole budget (the unpruned reference);
- ray asha        Ray Tune's OptunaSearch + ASHAScheduler (epochs as max_t, grace 1,
                  factor 3), sampling trials until it has trained as many epochs as the first
                  hpsearch arm did.

Each arm's best configuration is refitted on train + val with the same `trainable` code and
tested once on the test split. Printed: refit test accuracy (mean and spread over seeds),
epochs trained, wall time and the epochs each arm chose; the figures go to --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ray.tune.stopper import Stopper

from search.study.spec import StudySpec, load_study_spec
from trainable import Splits


@dataclass(frozen=True)
class Outcome:
    arm: str
    seed: int
    accuracy: float  # refit, on the test split
    epochs_trained: int  # summed over the search's trials
    chosen_epochs: int  # the refit's epochs
    seconds: float  # the search and the refit


def with_search(spec: StudySpec, **changes: Any) -> StudySpec:
    raw = spec.model_dump(mode="json")
    raw["search"] = {**raw["search"], **changes}
    return StudySpec.model_validate(raw)


def hpsearch(spec: StudySpec, arm: str, seed: int, folder: Path) -> Outcome:
    from search.run import run_study
    from search.rundir.layout import RunDir
    from search.rundir.resume import load_run_study

    started = time.perf_counter()
    result = run_study(spec, folder / arm.replace(" ", "_"), echo=lambda line: None)
    _, study = load_run_study(RunDir(result.run_dir))
    return Outcome(
        arm=arm,
        seed=seed,
        accuracy=result.summary.test.accuracy,
        epochs_trained=sum(len(t.intermediate_values) for t in study.trials),
        chosen_epochs=result.summary.refit_epochs,
        seconds=time.perf_counter() - started,
    )


def ray_asha(spec: StudySpec, splits: Splits, seed: int, epochs: int, folder: Path) -> Outcome:
    """Ray Tune's own wiring, given `epochs` to spend in all."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    started = time.perf_counter()
    budget = spec.budget
    mode = spec.search.direction
    tuner = tune.Tuner(
        tune.with_resources(
            tune.with_parameters(_ray_trial, splits=splits, spec=spec),
            {"cpu": spec.resources.cpus_per_trial},
        ),
        param_space=_ray_space(spec),
        tune_config=tune.TuneConfig(
            search_alg=OptunaSearch(metric=spec.search.metric, mode=mode, seed=seed),
            scheduler=ASHAScheduler(
                time_attr="epoch",
                metric=spec.search.metric,
                mode=mode,
                max_t=budget.epochs,
                grace_period=1,
                reduction_factor=3,
            ),
            num_samples=10_000,  # the stopper ends the search
            max_concurrent_trials=spec.search.concurrency,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            storage_path=str(folder), name="ray_asha", verbose=0, stop=EpochStopper(epochs)
        ),
    )
    grid = tuner.fit()
    frames = [r.metrics_dataframe for r in grid if r.metrics_dataframe is not None]
    trained = sum(len(f) for f in frames)
    best = grid.get_best_result(spec.search.metric, mode, scope="all")
    history = best.metrics_dataframe
    column = history[spec.search.metric]
    row = history.loc[column.idxmin() if mode == "min" else column.idxmax()]
    params = {k: best.config[k] for k in _ray_space(spec)}
    config = budget.replay(spec.train_config(budget.trial_config(params)), int(row["epoch"]))
    accuracy = _refit_and_test(config, splits)
    return Outcome(
        "ray asha", seed, accuracy, trained, config.epochs, time.perf_counter() - started
    )


class EpochStopper(Stopper):
    """Stops the whole experiment once its trials have reported `epochs` epochs in all."""

    def __init__(self, epochs: int) -> None:
        self.epochs, self.seen = epochs, 0

    def __call__(self, trial_id: str, result: dict) -> bool:
        self.seen += 1
        return False

    def stop_all(self) -> bool:
        return self.seen >= self.epochs


def _ray_space(spec: StudySpec) -> dict[str, Any]:
    from ray import tune

    from search.study.params import CategoricalParam, FloatParam

    space: dict[str, Any] = {}
    for name, param in spec.space.items():
        if name == "epochs":
            continue  # the budget: max_t
        if isinstance(param, FloatParam):
            space[name] = (tune.loguniform if param.log else tune.uniform)(param.low, param.high)
        elif isinstance(param, CategoricalParam):
            space[name] = tune.choice(param.choices)
        else:
            space[name] = tune.randint(param.low, param.high + 1)
    return space


def _ray_trial(config: dict[str, Any], splits: Splits, spec: StudySpec) -> None:
    import torch
    from ray import tune

    from trainable import train

    torch.set_num_threads(max(1, int(spec.resources.cpus_per_trial)))
    budget = spec.budget
    cfg = spec.train_config(budget.trial_config(dict(config)))
    train(cfg, splits, report=lambda epoch, metrics: tune.report(metrics))


def _refit_and_test(config: Any, splits: Splits) -> float:
    from trainable import evaluate, train

    history = train(config, splits.for_refit())
    return evaluate(history.model, splits.test, splits.classes).accuracy


def run_seed(spec: StudySpec, splits: Splits, seed: int, pruners: list[str]) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for pruner in pruners:
            arm = f"hpsearch {pruner}"
            arm_spec = with_search(spec, seed=seed, pruner={"type": pruner})
            outcomes.append(hpsearch(arm_spec, arm, seed, folder))
            _say(outcomes[-1])
        unpruned = with_search(spec, seed=seed, sampler={"type": "random"}, pruner={"type": "none"})
        outcomes.append(hpsearch(unpruned, "random, no pruning", seed, folder))
        _say(outcomes[-1])
        outcomes.append(ray_asha(spec, splits, seed, outcomes[0].epochs_trained, folder))
        _say(outcomes[-1])
    return outcomes


def _say(outcome: Outcome) -> None:
    print(
        f"  seed {outcome.seed} {outcome.arm:<28} accuracy {outcome.accuracy:.3f}  "
        f"{outcome.epochs_trained:>3} epochs  chose {outcome.chosen_epochs}  "
        f"{outcome.seconds:.0f} s",
        flush=True,
    )


def table(outcomes: list[Outcome]) -> str:
    arms = list(dict.fromkeys(o.arm for o in outcomes))
    reference = [o for o in outcomes if o.arm == "random, no pruning"]
    unpruned_epochs = statistics.mean(o.epochs_trained for o in reference) if reference else 0
    lines = [
        "| arm | test accuracy, mean (min-max) | epochs trained | of unpruned | wall s | chose |",
        "|---|---|---|---|---|---|",
    ]
    for arm in arms:
        rows = [o for o in outcomes if o.arm == arm]
        accuracy = [o.accuracy for o in rows]
        epochs = statistics.mean(o.epochs_trained for o in rows)
        share = f"{epochs / unpruned_epochs:.0%}" if unpruned_epochs else "-"
        lines.append(
            f"| {arm} | {statistics.mean(accuracy):.3f} ({min(accuracy):.3f}-{max(accuracy):.3f})"
            f" | {epochs:.1f} | {share} | {statistics.mean(o.seconds for o in rows):.0f} | "
            f"{', '.join(str(o.chosen_epochs) for o in rows)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pruners", default="", help="comma-separated; default: the study's")
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    args = parser.parse_args()

    from search.engine.cluster import start_ray
    from trainable import prepare

    spec = load_study_spec(args.study)
    pruners = [p for p in args.pruners.split(",") if p] or [spec.search.pruner.type]
    splits = prepare(spec.data)
    start_ray(spec, verbose=False)
    print(
        f"{spec.name}: {spec.search.trials} trials a search, budget "
        f"{spec.budget.epochs} epochs a trial, {len(splits.test)} test images"
    )
    outcomes = [o for seed in range(args.seeds) for o in run_seed(spec, splits, seed, pruners)]
    print(table(outcomes))
    if args.out:
        args.out.write_text(json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")


if __name__ == "__main__":
    main()
