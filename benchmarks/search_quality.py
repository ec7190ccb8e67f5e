"""Search quality for the compute: hpsearch against random search and Ray Tune's own ASHA, and
the race before the refit against picking the single best trial.

    python benchmarks/search_quality.py STUDY [--seeds N] [--pruners median,successive_halving]
                                              [--top-k 3] [--repeats 2] [--no-random]

On one study, side by side in one run, for each seed:

- hpsearch        `run_study` as the study configures it (or with each pruner of --pruners),
                  refitting the single best trial (search.select: best);
- race ...        the same search (the first pruner's), then search.select: race over its
                  --top-k best configurations, --repeats runs each. The runs of one race also
                  give the smaller races inside it (fewer contenders, fewer repeats: the same
                  draws), and the rule that adds the search's own value to the mean; each is an
                  arm of its own, at its own epochs;
- random          the same number of trials, random sampler, no pruner: every trial trains
                  the whole budget (the unpruned reference);
- ray asha        Ray Tune's OptunaSearch + ASHAScheduler (epochs as max_t, grace 1,
                  factor 3), sampling trials until it has trained as many epochs as the
                  largest race arm did (search and race).

Each arm's choice is refitted on train + val with the same `trainable` code and tested once on
the test split, and so are the other configurations of its top k: the selection regret is the
best test accuracy among those refits less the accuracy of the one the arm picked. Printed:
refit test accuracy (mean and spread over seeds), regret, epochs trained (race included),
and the epochs each arm chose. Every outcome (wall time included) goes to
benchmarks/search_quality.STUDY.json (or --out), from which docs/picking-the-winner.md's tables
are drawn (benchmarks/recorded.py).
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
from ray.tune.stopper import Stopper

from search.study.spec import StudySpec, load_study_spec
from trainable import Splits


@dataclass(frozen=True)
class Outcome:
    arm: str
    seed: int
    accuracy: float  # refit, on the test split
    epochs_trained: int  # summed over the search's trials (and the race's runs)
    chosen_epochs: int  # the refit's epochs
    seconds: float  # the search and the refit (a race arm: the whole run of its race)
    regret: float  # best test accuracy among refits of the arm's top k, less its own


def with_search(spec: StudySpec, **changes: Any) -> StudySpec:
    raw = spec.model_dump(mode="json")
    raw["search"] = {**raw["search"], **changes}
    return StudySpec.model_validate(raw)


def hpsearch(
    spec: StudySpec, splits: Splits, arm: str, seed: int, folder: Path, top_k: int
) -> Outcome:
    """The study as configured (select: best), its top k refitted for the regret."""
    import optuna

    from search.run import run_study
    from search.trials.states import search_trials

    started = time.perf_counter()
    result = run_study(spec, folder / arm.replace(" ", "_"), echo=lambda line: None)
    study = optuna.load_study(study_name=spec.name, storage=f"sqlite:///{result.run_dir}/optuna.db")
    picked = result.summary.best_trial
    tested = _top_k_tested(study, spec, splits, top_k, {picked: result.summary.test.accuracy})
    return Outcome(
        arm=arm,
        seed=seed,
        accuracy=tested[picked],
        epochs_trained=sum(len(t.intermediate_values) for t in search_trials(study)),
        chosen_epochs=result.summary.refit_epochs,
        seconds=time.perf_counter() - started,
        regret=max(tested.values()) - tested[picked],
    )


def raced(
    spec: StudySpec, splits: Splits, seed: int, folder: Path, top_k: int, repeats: int
) -> list[Outcome]:
    """One search with a race of `top_k` x `repeats`; the single best and every smaller race
    read off the same trials, each an arm at its own epochs, over the same top-k refits."""
    import optuna

    from search.engine.refit import trial_config
    from search.run import run_study
    from search.selection.race import standings
    from search.trials.states import race_runs, search_trials

    race_spec = with_search(spec, select={"top_k": top_k, "repeats": repeats})
    started = time.perf_counter()
    result = run_study(race_spec, folder / "race", echo=lambda line: None)
    seconds = time.perf_counter() - started
    study = optuna.load_study(study_name=spec.name, storage=f"sqlite:///{result.run_dir}/optuna.db")
    minimize = spec.search.direction == "min"
    # No race where fewer than two configurations completed: every arm picks the only one.
    race = race_spec.search.select
    table = race.standings(study, {}) or standings(
        race.contenders(study, {}), [], repeats, minimize
    )
    numbers = [c.number for c in table.contenders]
    tested = _tested(
        study, spec, splits, numbers, {table.winner.number: result.summary.test.accuracy}
    )
    best_possible = max(tested.values())
    searched = sum(len(t.intermediate_values) for t in search_trials(study))
    run_epochs = {
        (t.user_attrs["race_of"], t.user_attrs["race_run"]): len(t.intermediate_values)
        for t in race_runs(study)
    }
    sign = 1 if minimize else -1
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    outcomes = []
    for name, k, r, with_search_value in _race_arms(top_k, repeats):
        racing = [c for c in table.contenders[:k] if all(i in c.runs for i in range(1, r + 1))]
        racing = racing or table.contenders[:1]
        if r == 0 or len(racing) == 1:
            winner = racing[0]
        else:

            def score(c: Any, r: int = r, with_search_value: bool = with_search_value) -> float:
                values = [c.runs[i] for i in range(1, r + 1)] + [c.value] * with_search_value
                return sign * statistics.fmean(values)

            winner = min(racing, key=lambda c: (score(c), racing.index(c)))
        epochs = searched + sum(
            run_epochs.get((c.number, i), 0) for c in racing for i in range(1, r + 1)
        )
        outcomes.append(
            Outcome(
                arm=name,
                seed=seed,
                accuracy=tested[winner.number],
                epochs_trained=epochs,
                chosen_epochs=trial_config(by_number[winner.number], spec).epochs,
                seconds=seconds,
                regret=best_possible - tested[winner.number],
            )
        )
    return outcomes


def _race_arms(top_k: int, repeats: int) -> list[tuple[str, int, int, bool]]:
    """(arm, contenders, repeats, the search value in the mean): the single best first."""
    arms = [(f"hpsearch, single best of top {top_k}", top_k, 0, False)]
    for k in range(2, top_k + 1):
        for r in range(1, repeats + 1):
            arms.append((f"race top {k} x {r}", k, r, False))
    arms.append((f"race top {top_k} x {repeats}, mean with search", top_k, repeats, True))
    return arms


def _top_k_tested(
    study: Any, spec: StudySpec, splits: Splits, k: int, known: dict[int, float]
) -> dict[int, float]:
    """Test accuracy of the refits of the study's k best distinct configurations."""
    from search.selection import ranked
    from search.selection.race import top_distinct

    top = top_distinct(ranked(study, {}), k)
    return _tested(study, spec, splits, [t.number for t in top], known)


def _tested(
    study: Any, spec: StudySpec, splits: Splits, numbers: list[int], known: dict[int, float]
) -> dict[int, float]:
    from search.engine.refit import trial_config

    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    tested = dict(known)
    for number in numbers:
        if number not in tested:
            tested[number] = _refit_and_test(trial_config(by_number[number], spec), splits)
    return tested


def ray_asha(
    spec: StudySpec, splits: Splits, seed: int, epochs: int, folder: Path, top_k: int
) -> Outcome:
    """Ray Tune's own wiring, given `epochs` to spend in all."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    started = time.perf_counter()
    budget = spec.trial_epochs
    mode = spec.search.direction
    tuner = tune.Tuner(
        tune.with_resources(
            tune.with_parameters(ray_trial, splits=splits, spec=spec),
            {"cpu": spec.resources.cpus_per_trial},
        ),
        param_space=ray_space(spec),
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
    ranked = []  # (best value, config to refit), best first; as get_best_result(scope="all")
    for result in grid:
        history = result.metrics_dataframe
        if history is None or spec.search.metric not in history:
            continue
        column = history[spec.search.metric]
        row = history.loc[column.idxmin() if mode == "min" else column.idxmax()]
        params = {k: result.config[k] for k in ray_space(spec)}
        config = budget.replay(spec.train_config(budget.trial_config(params)), int(row["epoch"]))
        ranked.append((float(row[spec.search.metric]) * (1 if mode == "min" else -1), config))
    ranked.sort(key=lambda pair: pair[0])
    top: list[Any] = []
    for _, config in ranked:
        if config not in top:
            top.append(config)
    accuracies = [_refit_and_test(config, splits) for config in top[:top_k]]
    return Outcome(
        "ray asha",
        seed,
        accuracies[0],
        trained,
        top[0].epochs,
        time.perf_counter() - started,
        max(accuracies) - accuracies[0],
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


def ray_space(spec: StudySpec) -> dict[str, Any]:
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


def ray_trial(config: dict[str, Any], splits: Splits, spec: StudySpec) -> None:
    import torch
    from ray import tune

    from trainable import train

    torch.set_num_threads(max(1, int(spec.resources.cpus_per_trial)))
    budget = spec.trial_epochs
    cfg = spec.train_config(budget.trial_config(dict(config)))
    train(cfg, splits, report=lambda epoch, metrics: tune.report(metrics))


def _refit_and_test(config: Any, splits: Splits) -> float:
    from trainable import evaluate, train

    history = train(config, splits.for_refit())
    return evaluate(history.model, splits.test, splits.classes).accuracy


def run_seed(
    spec: StudySpec,
    splits: Splits,
    seed: int,
    pruners: list[str],
    top_k: int,
    repeats: int,
    random: bool = True,
) -> list[Outcome]:
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = with_search(spec, seed=seed, pruner={"type": pruners[0]})
        for outcome in raced(first, splits, seed, folder, top_k, repeats):
            outcomes.append(outcome)
            _say(outcome)
        for pruner in pruners[1:]:
            arm_spec = with_search(spec, seed=seed, pruner={"type": pruner})
            outcomes.append(hpsearch(arm_spec, splits, f"hpsearch {pruner}", seed, folder, top_k))
            _say(outcomes[-1])
        if random:
            unpruned = with_search(
                spec, seed=seed, sampler={"type": "random"}, pruner={"type": "none"}
            )
            outcomes.append(hpsearch(unpruned, splits, "random, no pruning", seed, folder, top_k))
            _say(outcomes[-1])
        most = max(o.epochs_trained for o in outcomes if o.arm.startswith("race"))
        outcomes.append(ray_asha(spec, splits, seed, most, folder, top_k))
        _say(outcomes[-1])
    return outcomes


def _say(outcome: Outcome) -> None:
    print(
        f"  seed {outcome.seed} {outcome.arm:<36} accuracy {outcome.accuracy:.3f}  "
        f"regret {outcome.regret:.3f}  {outcome.epochs_trained:>3} epochs  "
        f"chose {outcome.chosen_epochs}  "
        f"{outcome.seconds:.0f} s",
        flush=True,
    )


def table(outcomes: list[Outcome]) -> str:
    arms = list(dict.fromkeys(o.arm for o in outcomes))
    reference = [o for o in outcomes if o.arm == "random, no pruning"]
    unpruned_epochs = statistics.mean(o.epochs_trained for o in reference) if reference else 0
    single = [o for o in outcomes if o.arm.startswith("hpsearch, single best")]
    single_epochs = statistics.mean(o.epochs_trained for o in single) if single else 0
    lines = [
        "| arm | test accuracy, mean (min-max) | regret, mean (max) | epochs trained "
        "| of unpruned | more than the single best | chose |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm in arms:
        rows = [o for o in outcomes if o.arm == arm]
        accuracy = [o.accuracy for o in rows]
        epochs = statistics.mean(o.epochs_trained for o in rows)
        share = f"{epochs / unpruned_epochs:.0%}" if unpruned_epochs else "-"
        more = f"{epochs / single_epochs - 1:+.0%}" if single_epochs else "-"
        regret = [o.regret for o in rows]
        lines.append(
            f"| {arm} | {statistics.mean(accuracy):.3f} ({min(accuracy):.3f}-{max(accuracy):.3f})"
            f" | {statistics.mean(regret):.3f} ({max(regret):.3f}) | {epochs:.1f} | {share} | "
            f"{more} | {', '.join(str(o.chosen_epochs) for o in rows)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pruners", default="", help="comma-separated; default: the study's")
    parser.add_argument("--top-k", type=int, default=3, help="the race's contenders")
    parser.add_argument("--repeats", type=int, default=2, help="the race's runs of each")
    parser.add_argument(
        "--no-random", action="store_true", help="leave out the unpruned random search arm"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="default: benchmarks/search_quality.STUDY.json"
    )
    args = parser.parse_args()
    out = args.out or recorded.beside("search_quality", args.study.stem)

    from search.engine.cluster import start_ray
    from trainable import prepare

    spec = load_study_spec(args.study)
    pruners = [p for p in args.pruners.split(",") if p] or [spec.search.pruner.type]
    splits = prepare(spec.data)
    start_ray(spec, verbose=False)
    print(
        f"{spec.name}: {spec.search.trials} trials a search, budget "
        f"{spec.trial_epochs.epochs} epochs a trial, {len(splits.test)} test images"
    )
    outcomes: list[Outcome] = []
    for seed in range(args.seeds):
        outcomes += run_seed(
            spec, splits, seed, pruners, args.top_k, args.repeats, random=not args.no_random
        )
        # after every seed: a long run that stops keeps what it measured
        recorded.save(out, outcomes, complete=seed == args.seeds - 1)
    print(table(outcomes))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
