"""PNG plots of a study: optimization history, every trial's curve, the refit's curves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

STATE_COLORS = {
    "COMPLETE": "tab:blue",
    "PRUNED": "tab:orange",
    "FAIL": "tab:red",
    "RUNNING": "tab:gray",
}


def write_plots(
    folder: Path, study: optuna.Study, metric: str, history: list[dict[str, float]]
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    figures = {
        "optimization_history.png": optimization_history(study, metric),
        "trial_curves.png": trial_curves(study, metric),
        "refit_curves.png": refit_curves(history),
    }
    paths = []
    for name, figure in figures.items():
        figure.savefig(folder / name, dpi=110, bbox_inches="tight")
        paths.append(folder / name)
    return paths


def _figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kwargs)


def optimization_history(study: optuna.Study, metric: str) -> Figure:
    """Each finished trial's value, and the best so far."""
    figure = _figure(figsize=(6.5, 3.6))
    axes = figure.subplots()
    minimize = study.direction.name == "MINIMIZE"
    best, xs, bests = None, [], []
    for trial in study.get_trials(deepcopy=False):
        value = trial.value
        if value is None and trial.intermediate_values:
            value = list(trial.intermediate_values.values())[-1]
        if value is None:
            continue
        axes.scatter(
            trial.number,
            value,
            color=STATE_COLORS.get(trial.state.name, "k"),
            s=22,
            label=trial.state.name.lower(),
        )
        if trial.state.name == "COMPLETE":
            best = value if best is None else (min(best, value) if minimize else max(best, value))
        if best is not None:
            xs.append(trial.number)
            bests.append(best)
    axes.step(xs, bests, where="post", color="black", linewidth=1.2, label="best complete")
    _dedupe_legend(axes)
    axes.set(xlabel="trial", ylabel=metric, title="Optimization history")
    return figure


def trial_curves(study: optuna.Study, metric: str) -> Figure:
    """Every trial's metric per epoch; pruned trials end in an x where they were stopped."""
    figure = _figure(figsize=(6.5, 3.6))
    axes = figure.subplots()
    for trial in study.get_trials(deepcopy=False):
        if not trial.intermediate_values:
            continue
        epochs, values = zip(*sorted(trial.intermediate_values.items()), strict=True)
        color = STATE_COLORS.get(trial.state.name, "k")
        style = "--" if trial.state.name == "PRUNED" else "-"
        axes.plot(
            epochs,
            values,
            style,
            color=color,
            alpha=0.7,
            linewidth=1,
            label=trial.state.name.lower(),
        )
        if trial.state.name == "PRUNED":
            axes.plot(epochs[-1], values[-1], "x", color=color)
    _dedupe_legend(axes)
    axes.set(xlabel="epoch", ylabel=metric, title="Validation curves of all trials")
    return figure


def refit_curves(history: list[dict[str, float]]) -> Figure:
    """The refit's training loss and accuracy per epoch (it trains on train + val)."""
    figure = _figure(figsize=(8, 3.2))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    epochs = [r["epoch"] for r in history]
    for axes, key, title in ((loss_axes, "loss", "Loss"), (accuracy_axes, "accuracy", "Accuracy")):
        axes.plot(epochs, [r[f"train_{key}"] for r in history], "o-", label="train")
        if history and f"val_{key}" in history[0]:
            axes.plot(epochs, [r[f"val_{key}"] for r in history], "o-", label="validation")
        axes.set(xlabel="epoch", title=f"Refit: {title}")
        axes.legend()
    return figure


def _dedupe_legend(axes: Any) -> None:
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    if unique:
        axes.legend(unique.values(), unique.keys(), fontsize=8)
