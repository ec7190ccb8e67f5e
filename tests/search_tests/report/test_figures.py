"""The report's figures, drawn from studies made by hand (no search runs)."""

from __future__ import annotations

import optuna
from optuna.distributions import FloatDistribution

from search.report import plots
from search.report.parallel import parallel_coordinates

LR = {"lr": FloatDistribution(1e-4, 1e-1, log=True), "dropout": FloatDistribution(0, 0.5)}


def a_study(complete: int, pruned: int = 0) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for i in range(complete + pruned):
        trial = study.ask(LR)
        for epoch in (1, 2) if i < complete else (1,):
            trial.report(1.0 / (i + epoch), epoch)
        if i < complete:
            study.tell(trial, 1.0 / (i + 2))
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return study


def test_importances_wait_for_five_complete_trials() -> None:
    assert plots.importances(a_study(4, pruned=3)) is None
    assert plots.importances(a_study(5)) is not None


def test_each_curve_says_which_trial_it_is() -> None:
    figure = plots.trial_curves(a_study(3, pruned=2), "val_loss")
    labels = sorted(text.get_text() for text in figure.axes[0].texts)
    assert labels == ["#0", "#1", "#2", "#3", "#4"]


def test_parallel_coordinates_draw_every_finished_trial_across_each_parameter() -> None:
    figure = parallel_coordinates(a_study(3, pruned=2), "val_loss")
    axes = figure.axes[0]
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["lr", "dropout", "val_loss"]
    assert len(axes.lines) - len(axes.get_xticklabels()) == 5  # a line a trial, beside the axes
    assert parallel_coordinates(a_study(1), "val_loss") is None
