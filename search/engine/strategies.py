"""Optuna samplers and pruners by the names a study file uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from search.study.search_budget import DEFAULT_TRIALS
from search.study.spec import PrunerSpec, SamplerSpec, SearchSpec

if TYPE_CHECKING:
    import optuna


def make_sampler(search: SearchSpec, seed: int) -> optuna.samplers.BaseSampler:
    """`seed` differs from search.seed on a resumed study, so a restart draws new points."""
    import warnings

    import optuna

    kind, options = sampler_choice(search, seed)
    with warnings.catch_warnings():  # QMC and pruned-trial CMA-ES are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return kind(**options)


def sampler_choice(
    search: SearchSpec, seed: int
) -> tuple[type[optuna.samplers.BaseSampler], dict[str, Any]]:
    """The sampler class for `search.sampler` and the options hpsearch gives it."""
    import optuna

    spec: SamplerSpec = search.sampler
    startup = spec.startup_trials
    if startup is None:
        startup = min(10, max(2, (search.trial_limit or DEFAULT_TRIALS) // 4))
    quiet = {"warn_independent_sampling": False}
    if spec.type == "tpe":
        # multivariate models interactions (lr x batch size); constant liar keeps parallel
        # trials from being sent to the same point while their results are pending.
        options = {"n_startup_trials": startup, "multivariate": True, "constant_liar": True}
        return optuna.samplers.TPESampler, {**options, "seed": seed}
    if spec.type == "random":
        return optuna.samplers.RandomSampler, {"seed": seed}
    if spec.type == "cmaes":
        options = {"n_startup_trials": startup, "consider_pruned_trials": True, **quiet}
        return optuna.samplers.CmaEsSampler, {**options, "seed": seed}
    if spec.type == "gp":
        return optuna.samplers.GPSampler, {"n_startup_trials": startup, "seed": seed, **quiet}
    return optuna.samplers.QMCSampler, {"seed": seed, "scramble": True, **quiet}


def make_pruner(spec: PrunerSpec, max_epochs: int) -> optuna.pruners.BasePruner:
    import optuna

    if spec.type == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_epochs
        )
    if spec.type == "percentile":
        return optuna.pruners.PercentilePruner(
            spec.percentile, n_startup_trials=spec.startup_trials, n_warmup_steps=spec.warmup_epochs
        )
    if spec.type == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=max(1, spec.warmup_epochs), reduction_factor=spec.reduction_factor
        )
    if spec.type == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=max(1, spec.warmup_epochs),
            max_resource=max_epochs,
            reduction_factor=spec.reduction_factor,
        )
    return optuna.pruners.NopPruner()
