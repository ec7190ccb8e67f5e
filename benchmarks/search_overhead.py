"""Framework overhead per trial: hpsearch against Ray's OptunaSearch and plain Optuna.

The same study of many short trials (the same train() on the same data, the same space, TPE,
no pruning so every runner trains the same epochs) run three ways, one after another in one
process:

- optuna.optimize   plain `optuna.Study.optimize` calling train() in this process;
- ray OptunaSearch  Ray Tune with ray.tune.search.optuna.OptunaSearch, reuse_actors=True;
- hpsearch          search.engine.tuner.run_search (our Searcher + pruning scheduler, SQLite).

In-trial time is what train() itself measures (`elapsed_seconds` of its last epoch, model build
included), summed over trials; overhead per trial = (wall x concurrency - in-trial) / trials.
Ray is started once before the clock runs (its ~4 s start-up is printed apart).

    python benchmarks/search_overhead.py                 # 20 trials, 1 at a time
    python benchmarks/search_overhead.py --trials 40 --concurrency 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import recorded
import torch

from search.study.params import CategoricalParam, FloatParam
from search.study.spec import StudySpec, parse_study_spec
from trainable import Splits, prepare, train


def study(trials: int, concurrency: int) -> StudySpec:
    return parse_study_spec(
        {
            "name": "overhead",
            "data": {"source": "fake", "samples": 48, "classes": 3, "image_size": 16},
            "model": {"backbone": "efficientnet_lite0", "weights": "none"},
            "space": {
                "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
                "dropout": {"type": "float", "low": 0.0, "high": 0.5},
            },
            "fixed": {"epochs": 1, "batch_size": 16},
            "search": {
                "trials": trials,
                "concurrency": concurrency,
                "pruner": "none",
                "sampler": "tpe",
            },
        }
    )


def plain_optuna(spec: StudySpec, splits: Splits) -> list[float]:
    from search.study.space import distributions

    seconds: list[float] = []
    space = distributions(spec)

    def objective(trial: optuna.Trial) -> float:
        # The space of study() below is floats only.
        params = {n: trial.suggest_float(n, d.low, d.high, log=d.log) for n, d in space.items()}
        history = train(spec.train_config(params), splits)
        seconds.append(history.records[-1]["elapsed_seconds"])
        return history.records[-1]["val_loss"]

    optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0)).optimize(
        objective, n_trials=spec.search.trials, n_jobs=spec.search.concurrency
    )
    return seconds


def _ray_trial(config: dict[str, Any], splits: Splits, spec: StudySpec) -> None:
    from ray import tune

    torch.set_num_threads(1)
    train(spec.train_config(config), splits, report=lambda e, m: tune.report(m))


def ray_optuna_search(spec: StudySpec, splits: Splits, folder: Path) -> list[float]:
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    space = {}
    for name, param in spec.space.items():
        if isinstance(param, FloatParam):
            space[name] = (tune.loguniform if param.log else tune.uniform)(param.low, param.high)
        elif isinstance(param, CategoricalParam):
            space[name] = tune.choice(param.choices)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(_ray_trial, splits=splits, spec=spec), {"cpu": 1}),
        param_space=space,
        tune_config=tune.TuneConfig(
            search_alg=OptunaSearch(metric="val_loss", mode="min", seed=0),
            num_samples=spec.search.trials,
            max_concurrent_trials=spec.search.concurrency,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(storage_path=str(folder), name="optuna_search", verbose=0),
    )
    return [r.metrics["elapsed_seconds"] for r in tuner.fit()]


def hpsearch(spec: StudySpec, splits: Splits, folder: Path) -> list[float]:
    from search.engine.optuna_study import open_study
    from search.engine.tuner import run_search
    from search.rundir.layout import RunDir
    from search.rundir.storage import open_storage
    from search.trials.attrs import TRAIN_SECONDS

    run = RunDir(folder / "hpsearch")
    run.path.mkdir(parents=True, exist_ok=True)  # as the run's lock would make it
    opened = open_study(spec, open_storage(run.storage_url(spec)))
    run_search(spec, run.path, splits, opened)
    return [t.user_attrs[TRAIN_SECONDS] for t in opened.study.trials]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/search_overhead.json"
    )
    args = parser.parse_args()
    rows = []
    import os

    import ray

    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    torch.set_num_threads(1)
    spec = study(args.trials, args.concurrency)
    splits = prepare(spec.data)
    started = time.perf_counter()
    ray.init(
        address="local",
        num_cpus=max(2, args.concurrency),
        include_dashboard=False,
        log_to_driver=False,
    )
    print(f"ray.init: {time.perf_counter() - started:.1f} s (not counted below)")
    print(
        f"{args.trials} trials of 1 epoch on {len(splits.train)} images, "
        f"{args.concurrency} at a time"
    )
    print(
        f"{'runner':18s} {'wall s':>8s} {'in-trial s':>11s} {'overhead s/trial':>17s} "
        f"{'wall / in-trial':>16s}"
    )
    with tempfile.TemporaryDirectory() as folder:
        for name, run in (
            ("optuna.optimize", lambda: plain_optuna(spec, splits)),
            ("ray OptunaSearch", lambda: ray_optuna_search(spec, splits, Path(folder))),
            ("hpsearch", lambda: hpsearch(spec, splits, Path(folder))),
        ):
            started = time.perf_counter()
            seconds = run()
            wall = time.perf_counter() - started
            inside = sum(seconds)
            overhead = (wall * args.concurrency - inside) / len(seconds)
            print(f"{name:18s} {wall:8.1f} {inside:11.1f} {overhead:17.2f} {wall / inside:16.2f}")
            rows.append({"runner": name, "wall_s": wall, "trial_s": seconds})
    ray.shutdown()
    out = args.out or recorded.beside("search_overhead")
    recorded.save(out, rows, complete=True, trials=args.trials, concurrency=args.concurrency)
    print(f"written: {out}")


if __name__ == "__main__":
    main()
