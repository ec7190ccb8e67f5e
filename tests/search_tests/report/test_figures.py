"""The report's figures, drawn from studies made by hand (no search runs)."""

from __future__ import annotations

import optuna
import pytest
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


def test_the_best_curves_say_which_trial_they_are_and_no_two_names_collide() -> None:
    """Close ends (#0, #1, #10 at one value) get names moved apart, the best five only."""
    study = optuna.create_study()
    for i in range(12):
        trial = study.ask(LR)
        trial.report(0.9, 1)
        trial.report(0.5 + 0.001 * i, 2)  # every curve ends within a hair of the others
        study.tell(trial, 0.5 + 0.001 * i)
    figure = plots.trial_curves(study, "val_loss")
    texts = figure.axes[0].texts
    assert sorted(t.get_text() for t in texts) == ["#0", "#1", "#2", "#3", "#4"]
    boxes = drawn_boxes(figure, texts)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def drawn_boxes(figure, artists) -> list:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    return [Text.get_window_extent(artist, renderer) for artist in artists]  # the words alone


def pixels(figure) -> tuple[int, int]:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(plots.render(figure))).size


@pytest.mark.slow  # a thousand trials drawn
def test_every_figure_is_readable_at_a_thousand_trials() -> None:
    study = a_study(400, pruned=600)
    figures = {
        "history": plots.optimization_history(study, "val_loss"),
        "curves": plots.trial_curves(study, "val_loss"),
        "stopped": plots.epochs_reached(study, 2, [1]),
        "parallel": parallel_coordinates(study, "val_loss"),
        "slices": plots.slices(study, "val_loss"),
    }
    for name, figure in figures.items():
        width, height = pixels(figure)
        assert width <= 1600 and height <= 1000, (name, width, height)
    assert len(figures["curves"].axes[0].texts) == plots.LABELLED
    assert plots.epochs_reached(a_study(12), 2, [1]).axes[0].get_ylabel() == "trial"
    assert figures["stopped"].axes[0].get_ylabel() == "trials"  # counted, not a bar each


def test_parallel_coordinates_draw_every_finished_trial_across_each_parameter() -> None:
    figure = parallel_coordinates(a_study(3, pruned=2), "val_loss")
    axes = figure.axes[0]
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["lr", "dropout", "val_loss"]
    assert len(axes.lines) - len(axes.get_xticklabels()) == 5  # a line a trial, beside the axes
    assert parallel_coordinates(a_study(1), "val_loss") is None


def test_complete_trials_keep_their_colours_beside_a_pruned_trials_huge_loss() -> None:
    """The colour scale and the metric axis span the complete trials: a pruned trial's 75
    sits just past the axis' end, and the complete ones are still told apart."""
    study = a_study(6)
    trial = study.ask(LR)
    trial.report(75.0, 1)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    axes = parallel_coordinates(study, "val_loss").axes[0]
    trials = [line for line in axes.lines if len(line.get_xdata()) == 3]
    complete = {line.get_color() for line in trials if line.get_linestyle() == "-"}
    assert len(complete) == 6  # one colour a complete trial: their values differ
    pruned = next(line for line in trials if line.get_linestyle() == "--")
    assert pruned.get_ydata()[-1] == pytest.approx(1.08)
    assert "> 0.5" in [text.get_text() for text in axes.texts]


def test_no_front_where_the_study_weighs_no_serving_cost() -> None:
    from search.report.front import front_figure
    from search.study.spec import parse_study_spec
    from tests.search_tests.helpers import tiny_study

    spec = parse_study_spec(tiny_study())
    assert not spec.weighs_serving_cost and front_figure(a_study(3), spec, None) is None
