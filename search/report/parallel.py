"""The parallel-coordinates figure: one line a finished trial across an axis a parameter and
the metric, so which settings the good trials share shows at a glance (as on W&B's sweep page
and optuna-dashboard)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from search.trials.states import is_complete, search_trials
from search.trials.values import last_value, minimizes

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure


def _positions(values: list[Any], log: bool) -> tuple[list[float], list[tuple[float, str]]]:
    """Each value's place on a 0..1 axis, and the axis' labelled ticks."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        kinds = sorted({str(v) for v in values})
        place = {k: i / max(1, len(kinds) - 1) for i, k in enumerate(kinds)}
        return [place[str(v)] for v in values], [(place[k], k) for k in kinds]
    scaled = [math.log10(v) if log else float(v) for v in values]
    low, high = min(scaled), max(scaled)
    span = (high - low) or 1.0
    ticks = [(0.0, f"{min(values):.3g}"), (1.0, f"{max(values):.3g}")]
    return [(v - low) / span for v in scaled], ticks


OFF_SCALE = 0.08  # how far past the metric axis' ends a value off its scale is drawn


def _metric_positions(
    values: list[float], complete: list[bool]
) -> tuple[list[float], list[tuple[float, str]]]:
    """The metric's axis spans the complete trials' values, so their colours and places tell
    them apart; a pruned trial's value past that span (a first-epoch loss of 75) sits just
    beyond an end, at a tick that says so."""
    scored = [v for v, c in zip(values, complete, strict=True) if c] or values
    low, high = min(scored), max(scored)
    span = (high - low) or 1.0
    places = [min(1 + OFF_SCALE, max(-OFF_SCALE, (v - low) / span)) for v in values]
    ticks = [(0.0, f"{low:.3g}"), (1.0, f"{high:.3g}")]
    if any(v > high for v in values):
        ticks.append((1 + OFF_SCALE, f"> {high:.3g}"))
    if any(v < low for v in values):
        ticks.append((-OFF_SCALE, f"< {low:.3g}"))
    return places, ticks


def parallel_coordinates(study: optuna.Study, metric: str) -> Figure | None:
    """Every finished search trial; complete ones coloured by their value, pruned ones grey."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    trials = [t for t in search_trials(study) if t.params and last_value(t) is not None]
    if len(trials) < 2:
        return None
    names = list(dict.fromkeys(n for t in trials for n in t.params))  # sampled: every trial's
    trials = [t for t in trials if all(n in t.params for n in names)]
    if len(trials) < 2:
        return None
    columns = {}
    for name in names:
        values = [t.params[name] for t in trials]
        log = getattr(trials[0].distributions.get(name), "log", False)
        columns[name] = _positions(values, log)
    values = [float(last_value(t)) for t in trials]
    columns[metric] = _metric_positions(values, [is_complete(t) for t in trials])
    figure = Figure(layout="constrained", figsize=(max(6.5, 1.6 * len(columns)), 3.8))
    axes = figure.subplots()
    scored = [v for v, t in zip(values, trials, strict=True) if is_complete(t)] or values
    best, worst = (min(scored), max(scored)) if minimizes(study) else (max(scored), min(scored))
    colours = colormaps["viridis_r"]
    many = len(trials) > 100  # thinner lines, so hundreds stay told apart
    for i, trial in enumerate(trials):
        ys = [columns[c][0][i] for c in columns]
        if is_complete(trial):
            share = 0.0 if best == worst else (values[i] - best) / (worst - best)
            axes.plot(
                range(len(columns)),
                ys,
                color=colours(share),
                linewidth=0.8 if many else 1.6,
                alpha=0.5 if many else 0.9,
                zorder=2,
            )
        else:
            axes.plot(
                range(len(columns)),
                ys,
                color="0.8",
                linewidth=0.6 if many else 1,
                linestyle="--",
                zorder=1,
            )
    for x, (_, ticks) in enumerate(columns.values()):
        axes.axvline(x, color="0.3", linewidth=0.8)
        for y, text in ticks:
            axes.annotate(text, (x, y), xytext=(3, 0), textcoords="offset points", fontsize=7)
    axes.set_xticks(range(len(columns)), list(columns), rotation=20)
    axes.set_yticks([])
    axes.set_xlim(-0.2, len(columns) - 0.6)
    axes.set_title(
        f"Each finished trial across its parameters and {metric}\n(colour: the complete "
        "trials, best yellow to worst purple; dashed grey: pruned or stopped)",
        fontsize=10,
    )
    return figure


__all__ = ["parallel_coordinates"]
