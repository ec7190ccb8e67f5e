"""The figures of a run, with matplotlib: each function returns a Figure (or None if the study
has nothing to show yet); `render` turns them into PNG bytes for plots/ and report.html."""

from __future__ import annotations

import io
import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import optuna

from search.trials.curves import records_of
from search.trials.states import complete_trials, is_complete, is_pruned, search_trials
from search.trials.values import best_of, last_value, minimizes

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from optuna.trial import FrozenTrial

STATE_COLORS = {
    "COMPLETE": "tab:blue",
    "PRUNED": "tab:orange",
    "FAIL": "tab:red",
    "RUNNING": "tab:gray",
    "WAITING": "tab:gray",
}


def _color(trial: FrozenTrial) -> str:
    return STATE_COLORS.get(trial.state.name, "k")


def _label(trial: FrozenTrial) -> str:
    return trial.state.name.lower()


def render(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def new_figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    return Figure(layout="constrained", **kwargs)


def optimization_history(study: optuna.Study, metric: str) -> Figure | None:
    """Each finished trial's value, and the best complete one so far."""
    points = [(t, last_value(t)) for t in search_trials(study)]
    points = [(t, v) for t, v in points if v is not None]
    if not points:
        return None
    figure = new_figure(figsize=(6.5, 3.6))
    axes = figure.subplots()
    minimize = minimizes(study)
    best, xs, bests = None, [], []
    by_state: dict[str, list[tuple[int, float]]] = {}
    for trial, value in points:
        by_state.setdefault(trial.state.name, []).append((trial.number, value))
        if is_complete(trial):
            best = best_of([value] if best is None else [best, value], minimize)
        if best is not None:
            xs.append(trial.number)
            bests.append(best)
    for state, shown in by_state.items():  # one collection a state: fast at thousands
        numbers, values = zip(*shown, strict=True)
        axes.scatter(numbers, values, color=STATE_COLORS.get(state, "k"), s=22, label=state.lower())
    axes.step(xs, bests, where="post", color="black", linewidth=1.2, label="best complete")
    log_scale_if_spread(axes, [value for _, value in points])
    _dedupe_legend(axes)
    axes.set(xlabel="trial", ylabel=metric, title="Optimization history")
    _whole_numbers(axes.xaxis)
    return figure


LABELLED = 5  # curves named at their end: the best complete trials
LABEL_GAP = 0.08  # the least vertical room between two of those names, of the axes' height
MANY_TRIALS = 40  # past this, "where each trial stopped" counts trials instead of a bar each


def trial_curves(study: optuna.Study, metric: str) -> Figure | None:
    """Every trial's metric per epoch; a pruned trial ends in an x where it was stopped. The
    best complete trials are named at their ends, spaced so that no two names overlap."""
    trials = [t for t in search_trials(study) if t.intermediate_values]
    if not trials:
        return None
    figure = new_figure(figsize=(6.5, 3.6))
    axes = figure.subplots()
    from matplotlib.collections import LineCollection

    alpha = 0.7 if len(trials) <= 50 else max(0.12, 0.7 * 50 / len(trials))
    curves: dict[str, list[list[tuple[int, float]]]] = {}
    for trial in trials:
        curve = sorted(trial.intermediate_values.items())
        curves.setdefault(trial.state.name, []).append(curve)
        if is_pruned(trial) and len(trials) <= 50:
            axes.plot(*curve[-1], "x", color=_color(trial), markersize=8)
    for state, lines in curves.items():  # one collection a state: fast at thousands
        color = STATE_COLORS.get(state, "k")
        style = "--" if state == "PRUNED" else "-"
        kind = LineCollection(lines, colors=color, linestyles=style, linewidths=1, alpha=alpha)
        kind.set_label(state.lower())
        axes.add_collection(kind)
    axes.autoscale_view()
    log_scale_if_spread(axes, [v for t in trials for v in t.intermediate_values.values()])
    _name_the_best(axes, trials, minimizes(study))
    _dedupe_legend(axes)
    axes.set(xlabel="epoch", ylabel=metric, title=f"{metric} of every trial, by epoch")
    _whole_numbers(axes.xaxis)
    return figure


def _name_the_best(axes: Any, trials: list[FrozenTrial], minimize: bool) -> None:
    """'#n' at the end of the best complete trials' curves, moved apart where they would
    collide. Placed in axes fractions (the data's scale, not the figure's layout, decides
    them), so the gaps hold however the figure is laid out."""
    complete = [t for t in trials if is_complete(t) and t.value is not None]
    best = sorted(complete, key=lambda t: t.value if minimize else -t.value)[:LABELLED]
    if not best:
        return
    axes.autoscale_view()
    to_fraction = axes.transScale + axes.transLimits
    ends = []
    for trial in best:
        epoch, value = max(trial.intermediate_values.items())
        x, y = to_fraction.transform((epoch, value))
        ends.append((y, x, epoch, value, trial))
    ends.sort(key=lambda end: end[0])
    wanted = [end[0] for end in ends]
    placed = _spaced(wanted, LABEL_GAP)
    for at, (y, x, epoch, value, trial) in zip(placed, ends, strict=True):
        axes.annotate(
            f"#{trial.number}",
            (epoch, value),
            xytext=(min(x, 0.97) + 0.01, at),
            textcoords="axes fraction",
            fontsize=7,
            va="center",
            color=_color(trial),
            arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.5}
            if abs(at - y) > LABEL_GAP / 4
            else None,
        )


def _spaced(wanted: list[float], gap: float) -> list[float]:
    """Ascending places as near `wanted` (ascending, in 0..1) as a `gap` between any two
    allows, all within 0..1."""
    placed: list[float] = []
    for y in wanted:
        placed.append(max(y, placed[-1] + gap) if placed else max(y, gap / 2))
    overflow = placed[-1] - (1 - gap / 2)
    if overflow > 0:  # pushed past the top: move the column down, keeping the gaps
        placed = [max(y - overflow, gap / 2 + i * gap) for i, y in enumerate(placed)]
    return placed


def epochs_reached(study: optuna.Study, budget: int, rungs: list[int]) -> Figure | None:
    """How far each trial trained, coloured by how it ended: a bar a trial, or past
    MANY_TRIALS, how many trials stopped at each epoch."""
    trials = [t for t in search_trials(study) if t.intermediate_values]
    if not trials:
        return None
    many = len(trials) > MANY_TRIALS
    height = 3.2 if many else max(2.2, 0.22 * len(trials) + 1.0)
    figure = new_figure(figsize=(6.5, height))
    axes = figure.subplots()
    if many:
        _stopped_counts(axes, trials)
    else:
        for trial in trials:
            trained = len(trial.intermediate_values)
            axes.barh(trial.number, trained, color=_color(trial), height=0.7, label=_label(trial))
        axes.invert_yaxis()
    for rung in rungs:
        axes.axvline(rung, color="gray", linestyle=":", linewidth=1)
    axes.axvline(budget, color="black", linestyle="--", linewidth=1, label="budget")
    _dedupe_legend(axes)
    ylabel = "trials" if many else "trial"
    axes.set(xlabel="epochs trained", ylabel=ylabel, title="Where each trial stopped")
    _whole_numbers(axes.xaxis)
    return figure


def _stopped_counts(axes: Any, trials: list[FrozenTrial]) -> None:
    """Stacked bars: at each number of epochs trained, how many trials of each end."""
    counts = Counter((len(t.intermediate_values), t.state.name) for t in trials)
    epochs = sorted({e for e, _ in counts})
    bottom = dict.fromkeys(epochs, 0)
    for state, color in STATE_COLORS.items():
        heights = [counts.get((e, state), 0) for e in epochs]
        if any(heights):
            axes.bar(
                epochs,
                heights,
                bottom=[bottom[e] for e in epochs],
                color=color,
                width=0.7,
                label=state.lower(),
            )
            for e, h in zip(epochs, heights, strict=True):
                bottom[e] += h


MIN_IMPORTANCE_TRIALS = 5  # below this, fANOVA's forest is fitted to noise: not shown
TRUSTED_IMPORTANCE_TRIALS = 20  # below this, shown as a hint


def importances(study: optuna.Study) -> Figure | None:
    """optuna.importance (fANOVA) over the search's complete trials; None below
    MIN_IMPORTANCE_TRIALS of them."""

    complete = complete_trials(study)
    if len(complete) < MIN_IMPORTANCE_TRIALS or not complete[0].params:
        return None
    own = optuna.create_study(directions=study.directions)  # race runs, warm trials left out
    own.add_trials(complete)
    try:
        scores = optuna.importance.get_param_importances(own)
    except (RuntimeError, ValueError):  # e.g. every complete trial has the same params
        return None
    figure = new_figure(figsize=(6.5, 0.5 + 0.45 * len(scores)))
    axes = figure.subplots()
    names = list(scores)[::-1]
    axes.barh(names, [scores[n] for n in names], color="tab:blue")
    axes.set(
        xlabel="importance (fANOVA, share of the variance of the value)",
        title="Hyperparameter importances",
    )
    return figure


def slices(study: optuna.Study, metric: str) -> Figure | None:
    """The value of each finished trial against each parameter."""
    trials = [t for t in search_trials(study) if t.params and last_value(t) is not None]
    if not trials:
        return None
    names = list(dict.fromkeys(name for t in trials for name in t.params))
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = new_figure(figsize=(3.3 * columns, 2.8 * rows))
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes, name in zip(grid.flat, names, strict=False):
        shown = [t for t in trials if name in t.params]
        xs = [t.params[name] for t in shown]
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs):
            distribution = shown[0].distributions[name]
            if getattr(distribution, "log", False):
                from matplotlib.ticker import NullFormatter

                axes.set_xscale("log")
                axes.xaxis.set_minor_formatter(NullFormatter())  # 2x10^-3 ... overlap
        else:
            xs = [str(x) for x in xs]
        values = [last_value(t) for t in shown]
        axes.scatter(xs, values, s=18, c=[_color(t) for t in shown])
        log_scale_if_spread(axes, values)
        axes.set(xlabel=name, ylabel=metric)
    for axes in list(grid.flat)[len(names) :]:
        axes.set_visible(False)
    figure.suptitle("Each trial's value against each parameter (blue complete, orange pruned)")
    return figure


def fit_curves(best: optuna.trial.FrozenTrial, refit: list[dict[str, float]]) -> Figure | None:
    """The best trial's train and validation curves, and the refit's training curve."""
    history = records_of(best)
    if not history and not refit:
        return None
    figure = new_figure(figsize=(9, 3.4))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    multilabel = any("train_accuracy_thresh" in r for r in [*history, *refit])
    accuracy = "accuracy_thresh" if multilabel else "accuracy"
    for axes, key in ((loss_axes, "loss"), (accuracy_axes, accuracy)):
        for source, label, style in (
            (history, f"trial {best.number}", "o-"),
            (refit, "refit (train + val)", "s--"),
        ):
            epochs = [r["epoch"] for r in source if f"train_{key}" in r]
            if epochs:
                axes.plot(
                    epochs,
                    [r[f"train_{key}"] for r in source if f"train_{key}" in r],
                    style,
                    color="tab:blue",
                    label=f"train, {label}",
                    alpha=1 if source is history else 0.6,
                )
        val = [(r["epoch"], r[f"val_{key}"]) for r in history if f"val_{key}" in r]
        if val:
            axes.plot(
                *zip(*val, strict=True),
                "o-",
                color="tab:orange",
                label=f"validation, trial {best.number}",
            )
        axes.set(xlabel="epoch", title=key.capitalize().replace("_thresh", " at the threshold"))
        _whole_numbers(axes.xaxis)
        axes.legend(fontsize=8)
    return figure


def _whole_numbers(axis: Any) -> None:
    """Epochs and trial numbers: ticks at 1, 2, 3, never 1.5."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def log_scale_if_spread(axes: Any, values: list[float | None]) -> None:
    """A few diverged trials (loss 40 beside 0.1) flatten a linear axis into a line."""
    positive = [v for v in values if v is not None and v > 0]
    if positive and len(positive) == len(values) and max(positive) / min(positive) > 20:
        axes.set_yscale("log")


def _dedupe_legend(axes: Any) -> None:
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        axes.legend(unique.values(), unique.keys(), fontsize=8)
